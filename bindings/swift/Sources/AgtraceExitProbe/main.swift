// Traces two spans to the file named by the first argument and exits
// without shutting down: the exit hook must still deliver them
// (LifecycleTests runs this).
import Agtrace

let path = CommandLine.arguments[1]
try Agtrace.bootstrap(
    serviceName: "exit-probe",
    exporters: ["file"],
    settings: ["AGTRACE_FILE_PATH": .string(path), "OTEL_BSP_SCHEDULE_DELAY": 60000],
    ignoreEnvironment: true
)
try withSpan("probe root", kind: .agent) { _ in
    try withSpan("probe child", kind: .tool) { _ in }
}
