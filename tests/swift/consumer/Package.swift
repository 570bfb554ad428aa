// swift-tools-version:5.9
// The README's Swift example built as users build against the SDK: a
// separate package depending on the assembled dist/swift by path (its
// directory in AGTRACE_SWIFT_PACKAGE; `make test-swift-consumer` copies this
// package to build/swift-consumer, writes the README's block as
// Sources/Readme/main.swift and sets the variable), importing only `Agtrace`.
// tests/readme_trace.py then checks the trace the example wrote.
import Foundation
import PackageDescription

guard let sdk = ProcessInfo.processInfo.environment["AGTRACE_SWIFT_PACKAGE"] else {
    fatalError("set AGTRACE_SWIFT_PACKAGE to the assembled Swift SDK (make sdk: dist/swift)")
}
// The package's identity is its directory's name.
let agtrace = Target.Dependency.product(name: "Agtrace", package: URL(fileURLWithPath: sdk).lastPathComponent)

let package = Package(
    name: "AgtraceConsumer",
    platforms: [.macOS(.v13)],
    dependencies: [.package(path: sdk)],
    targets: [
        .executableTarget(name: "Readme", dependencies: [agtrace]),
    ]
)
