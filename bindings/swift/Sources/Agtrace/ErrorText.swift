import Foundation

/// An error's message as its author wrote it, for `exception.message`: the
/// counterpart of Python's `str(exc)` and Kotlin's `Throwable.message`.
enum ErrorText {
    /// A `LocalizedError`'s `errorDescription`; an `NSError`'s
    /// `localizedDescription` (its `NSLocalizedDescriptionKey`, else
    /// Foundation's sentence naming the domain and code); otherwise
    /// `String(describing:)`, which is a `CustomStringConvertible` error's
    /// `description` or the value as Swift prints it (bounded as any
    /// described value is). (`localizedDescription`
    /// of a plain Swift error is only "The operation could not be
    /// completed", so it is not used for those.)
    static func message(_ error: any Error) -> String {
        if let localized = error as? LocalizedError, let description = localized.errorDescription {
            return description
        }
        if type(of: error) is NSError.Type {
            return (error as NSError).localizedDescription
        }
        return Convert.described(error)
    }
}
