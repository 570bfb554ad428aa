// Traces two spans to the file named by the first argument and exits
// without shutting down: the exit hook must still deliver them
// (LifecycleTests runs this). With a second argument `strict`, runs in
// strict mode and misuses a span instead, which must trap (MisuseTests).
import Agtrace

let path = CommandLine.arguments[1]
let strict = CommandLine.arguments.dropFirst(2).first == "strict"
try Agtrace.bootstrap(
    serviceName: "exit-probe",
    exporters: ["file"],
    settings: ["AGTRACE_FILE_PATH": .string(path), "OTEL_BSP_SCHEDULE_DELAY": 60000, "AGTRACE_STRICT": .bool(strict)],
    ignoreEnvironment: true
)
withSpan("probe root", kind: .agent) { _ in
    withSpan("probe child", kind: .tool) { span in
        if strict { span.setAttribute("", "an empty key") }
    }
}
