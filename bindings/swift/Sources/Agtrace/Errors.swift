import AgtraceFFI
import AgtraceFFIC

/// Every error agtrace reports. The associated text says what was wrong and
/// names the argument or setting; `description` prefixes the kind.
///
/// Converted here, and nowhere else, from both ways into the library: the
/// uniffi error enum (settings, flush, live configuration) and the C ABI's
/// status codes (span protocol, propagation), whose values are the
/// generated `Codes.ERROR_*`.
///
/// Misuse that cannot hurt the application (ending a span twice, recording
/// on an ended span, spans after shutdown, flush timeouts) is logged to
/// standard error, never thrown.
public enum AgtraceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A value passed to agtrace was invalid (an empty or NUL-containing
    /// name, a negative token count, a value that is not JSON, ...).
    case invalidArgument(String)
    /// A setting had an unknown name or a bad value; the text names it.
    case invalidConfig(String)
    /// The tracer was shut down.
    case shutDown(String)
    /// A flush or shutdown ran out of time with spans undelivered.
    case timeout(String)
    /// A flush or shutdown finished, but the exporters dropped spans
    /// meanwhile (rejected, failed after retries, left at the deadline).
    case undelivered(String)
    /// An exporter could not be created.
    case exporter(String)
    /// An internal error inside the library (a caught panic); it stays usable.
    case `internal`(String)

    /// What was wrong, without the kind.
    public var detail: String {
        switch self {
        case let .invalidArgument(d), let .invalidConfig(d), let .shutDown(d),
             let .timeout(d), let .undelivered(d), let .exporter(d), let .internal(d):
            return d
        }
    }

    public var description: String {
        switch self {
        case let .invalidArgument(d): return "agtrace: invalid argument: \(d)"
        case let .invalidConfig(d): return "agtrace: invalid configuration: \(d)"
        case let .shutDown(d): return "agtrace: shut down: \(d)"
        case let .timeout(d): return "agtrace: timed out: \(d)"
        case let .undelivered(d): return "agtrace: undelivered: \(d)"
        case let .exporter(d): return "agtrace: exporter: \(d)"
        case let .internal(d): return "agtrace: internal error: \(d)"
        }
    }

    /// From an `agtrace_status_t` code and its message. Ending twice
    /// (`AGTRACE_ERR_ALREADY_ENDED`) is a misuse of the span argument.
    static func fromStatus(_ code: UInt32, _ message: String) -> AgtraceError {
        guard let code = UInt8(exactly: code) else { return .internal(message) }
        switch code {
        case Codes.ERROR_NULL_ARGUMENT, Codes.ERROR_INVALID_ARGUMENT, Codes.ERROR_INVALID_UTF8, Codes.ERROR_ALREADY_ENDED:
            return .invalidArgument(message)
        case Codes.ERROR_INVALID_CONFIG: return .invalidConfig(message)
        case Codes.ERROR_SHUT_DOWN: return .shutDown(message)
        case Codes.ERROR_TIMEOUT: return .timeout(message)
        case Codes.ERROR_UNDELIVERED: return .undelivered(message)
        case Codes.ERROR_EXPORTER: return .exporter(message)
        default: return .internal(message)
        }
    }

    /// From the uniffi error enum.
    static func from(_ e: AgtraceFFI.AgtraceError) -> AgtraceError {
        switch e {
        case let .InvalidArgument(detail), let .AlreadyEnded(detail): return .invalidArgument(detail)
        case let .InvalidConfig(detail): return .invalidConfig(detail)
        case let .ShutDown(detail): return .shutDown(detail)
        case let .Timeout(detail): return .timeout(detail)
        case let .Undelivered(detail): return .undelivered(detail)
        case let .Exporter(detail): return .exporter(detail)
        case let .Internal(detail): return .internal(detail)
        }
    }

    /// The error a failed C ABI call left in `error`, which is freed.
    static func take(_ error: OpaquePointer?) -> AgtraceError {
        guard let error else { return .internal("libagtrace failed without an error") }
        let code = agtrace_error_code(error).rawValue
        let message = agtrace_error_message(error).map { String(cString: $0) } ?? "unknown error"
        agtrace_error_free(error)
        return fromStatus(code, message)
    }
}

/// Runs a uniffi call, converting its errors into ``AgtraceError``.
func cold<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch let e as AgtraceFFI.AgtraceError {
        throw AgtraceError.from(e)
    } catch {
        // A panic caught by uniffi's scaffolding, or a contract mismatch.
        throw AgtraceError.internal(String(describing: error))
    }
}

/// Throws unless a C ABI call returned `AGTRACE_OK`, freeing its error.
func check(_ status: agtrace_status_t, _ error: OpaquePointer?) throws {
    if status != AGTRACE_OK { throw AgtraceError.take(error) }
}
