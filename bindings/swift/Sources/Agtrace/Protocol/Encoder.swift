/// The span protocol's encoder (ffi/PROTOCOL.md): records and items written
/// into ``Bytes``, with the codes generated from the core (`Codes`). The
/// encoder checks what the core would reject (attribute keys, JSON values):
/// a bad attribute is rolled back and returned as ``Rejected``, for the
/// caller to report once it has released the bytes, and the rest is sent.

/// A span's identity as a BEGIN or a context names it: the 16 trace id and
/// 8 span id bytes in wire order, and the W3C flags.
struct SpanIds: Equatable {
    var trace: (UInt64, UInt64)
    var span: UInt64
    var flags: UInt8

    static func == (a: SpanIds, b: SpanIds) -> Bool {
        a.trace == b.trace && a.span == b.span && a.flags == b.flags
    }

    /// False for the all-zero ids of a span that started nowhere (no tracer).
    var isValid: Bool { trace != (0, 0) }
}

/// Where a BEGIN's span sits.
enum ParentRef {
    case root
    /// A span of this process that still records (its rollups count the
    /// child); `inherit` names a context whose trace state and baggage the
    /// child takes.
    case local(SpanIds, inherit: UInt64?)
    /// A span known by its ids (ended, or recording nothing).
    case span(SpanIds, inherit: UInt64?)
    /// An `agtrace_context_t *`, as an integer.
    case context(UInt64)
}

extension Bytes {
    /// `offset` meaning "when the core reads it".
    static let now = UInt64.max

    // MARK: records

    /// Writes a record's code and a length to fill in; returns where the
    /// length goes, for ``close(_:)``.
    @inline(__always)
    mutating func open(_ code: UInt8) -> Int {
        u8(code)
        let at = count
        u32(0)
        return at
    }

    @inline(__always)
    mutating func close(_ at: Int) {
        patch(at, UInt32(count - at - 4))
    }

    /// Opens a BEGIN record: kind, parent, name. Items follow, then ``close(_:)``.
    @inline(__always)
    mutating func begin(kind: UInt8, parent: ParentRef, name: String) -> Int {
        let at = open(Codes.RECORD_BEGIN)
        u8(kind)
        self.parent(parent)
        str(name)
        return at
    }

    /// Opens an END (or ABANDON) record: handle, duration. Items follow,
    /// then ``close(_:)``.
    @inline(__always)
    mutating func end(_ code: UInt8, handle: UInt64, duration: UInt64) -> Int {
        let at = open(code)
        u64(handle)
        u64(duration)
        return at
    }

    @inline(__always)
    mutating func parent(_ p: ParentRef) {
        switch p {
        case .root:
            u8(Codes.PARENT_ROOT)
        case let .local(ids, inherit):
            self.ids(Codes.PARENT_LOCAL, ids, inherit)
        case let .span(ids, inherit):
            self.ids(Codes.PARENT_SPAN, ids, inherit)
        case let .context(handle):
            u8(Codes.PARENT_CONTEXT)
            u64(handle)
        }
    }

    @inline(__always)
    private mutating func ids(_ form: UInt8, _ ids: SpanIds, _ inherit: UInt64?) {
        u8(inherit == nil ? form : form | Codes.PARENT_INHERIT)
        withUnsafeBytes(of: ids.trace) { raw($0) }
        withUnsafeBytes(of: ids.span) { raw($0) }
        u8(ids.flags)
        if let inherit { u64(inherit) }
    }

    // MARK: attribute items

    /// An attribute item, or nothing and what was wrong with it (a bad key,
    /// a `.json` value that is not JSON).
    @inline(__always)
    mutating func attribute(_ key: String, _ value: AttributeValue) -> Rejected? {
        let mark = count
        do {
            try item(key, value)
            return nil
        } catch {
            count = mark
            return error as? Rejected
        }
    }

    /// An attribute item; throws ``Rejected`` leaving partial bytes.
    @inline(__always)
    private mutating func item(_ key: String, _ value: AttributeValue) throws {
        switch value {
        case let .string(s):
            u8(Codes.ITEM_STRING)
            try self.key(key)
            str(s)
        case let .int(i):
            u8(Codes.ITEM_INT)
            try self.key(key)
            i64(Int64(i))
        case let .double(d):
            u8(Codes.ITEM_DOUBLE)
            try self.key(key)
            f64(d)
        case let .bool(b):
            u8(Codes.ITEM_BOOL)
            try self.key(key)
            u8(b ? 1 : 0)
        default:
            try array(key, value)
        }
    }

    private mutating func array(_ key: String, _ value: AttributeValue) throws {
        switch value {
        case let .stringArray(items):
            u8(Codes.ITEM_STRING_ARRAY)
            try self.key(key)
            strs(items)
        case let .intArray(items):
            u8(Codes.ITEM_INT_ARRAY)
            try self.key(key)
            u32(UInt32(items.count))
            for i in items { i64(Int64(i)) }
        case let .doubleArray(items):
            u8(Codes.ITEM_DOUBLE_ARRAY)
            try self.key(key)
            u32(UInt32(items.count))
            for d in items { f64(d) }
        case let .boolArray(items):
            u8(Codes.ITEM_BOOL_ARRAY)
            try self.key(key)
            u32(UInt32(items.count))
            for b in items { u8(b ? 1 : 0) }
        case let .json(text):
            if let problem = value.notJSON("attribute \(Check.printable(key))") { throw Rejected.badValue(problem) }
            u8(Codes.ITEM_JSON)
            try self.key(key)
            str(text)
        case .string, .int, .double, .bool:
            try item(key, value)
        }
    }

    /// Every usable attribute of `attributes`, in order; returns the
    /// others' problems (empty, which allocates nothing, when all were
    /// usable) and how many were written.
    @inline(__always)
    mutating func attributes<A: Sequence>(_ attributes: A, written: inout UInt32) -> [Rejected]
        where A.Element == (key: String, value: AttributeValue) {
        var rejected: [Rejected] = []
        for (key, value) in attributes {
            if let r = attribute(key, value) {
                rejected.append(r)
            } else {
                written += 1
            }
        }
        return rejected
    }

    @inline(__always)
    mutating func attributes<A: Sequence>(_ attributes: A) -> [Rejected] where A.Element == (key: String, value: AttributeValue) {
        var written: UInt32 = 0
        return self.attributes(attributes, written: &written)
    }

    /// An attribute key, checked where it was copied (no second pass over the String).
    @inline(__always)
    private mutating func key(_ key: String) throws {
        let start = count + 4
        str(key)
        try Check.key(UnsafePointer(base.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self) + start), count - start, key)
    }

    // MARK: span items

    mutating func status(_ code: UInt8, _ description: String) {
        u8(Codes.ITEM_STATUS)
        u8(code)
        str(description)
    }

    mutating func error(type: String, message: String, stacktrace: String) {
        u8(Codes.ITEM_ERROR)
        str(type)
        str(message)
        str(stacktrace)
    }

    mutating func usage(_ input: UInt64, _ output: UInt64, _ cacheRead: UInt64, _ cacheCreation: UInt64, _ reasoning: UInt64) {
        u8(Codes.ITEM_USAGE)
        for n in [input, output, cacheRead, cacheCreation, reasoning] { u64(n) }
    }

    /// Empty strings (and no finish reasons) leave the span's values as they are.
    mutating func llm(provider: String, requestModel: String, responseModel: String, responseId: String, finishReasons: [String]) {
        u8(Codes.ITEM_LLM)
        str(provider)
        str(requestModel)
        str(responseModel)
        str(responseId)
        strs(finishReasons)
    }

    mutating func tool(name: String, callId: String) {
        u8(Codes.ITEM_TOOL)
        str(name)
        str(callId)
    }

    mutating func agent(name: String, id: String) {
        u8(Codes.ITEM_AGENT)
        str(name)
        str(id)
    }

    /// JSON texts; empty for one not given.
    mutating func messages(input: String, output: String) {
        u8(Codes.ITEM_MESSAGES)
        str(input)
        str(output)
    }

    /// Trace-level context; empty strings (and no tags) leave a value as it is.
    mutating func trace(
        userId: String, sessionId: String, conversationId: String, environment: String, release: String,
        tags: [String], metadata: String
    ) {
        u8(Codes.ITEM_TRACE)
        for s in [userId, sessionId, conversationId, environment, release] { str(s) }
        strs(tags)
        str(metadata)
    }

    /// An event at `offset` (ns after the span's start, or ``now``), with
    /// its usable attributes; returns the others' problems.
    mutating func event<A: Sequence>(name: String, offset: UInt64, attributes: A) -> [Rejected]
        where A.Element == (key: String, value: AttributeValue) {
        u8(Codes.ITEM_EVENT)
        str(name)
        u64(offset)
        return counted(attributes)
    }

    /// A link to the span `ids` names, with its W3C trace state and its
    /// usable attributes; returns the others' problems.
    mutating func link<A: Sequence>(_ ids: SpanIds, traceState: String, attributes: A) -> [Rejected]
        where A.Element == (key: String, value: AttributeValue) {
        u8(Codes.ITEM_LINK)
        withUnsafeBytes(of: ids.trace) { raw($0) }
        withUnsafeBytes(of: ids.span) { raw($0) }
        u8(ids.flags)
        str(traceState)
        return counted(attributes)
    }

    /// An attribute count, then the usable attributes it counts.
    private mutating func counted<A: Sequence>(_ attributes: A) -> [Rejected] where A.Element == (key: String, value: AttributeValue) {
        let at = count
        u32(0)
        var n: UInt32 = 0
        let rejected = self.attributes(attributes, written: &n)
        patch(at, n)
        return rejected
    }

    mutating func firstChunk(offset: UInt64) {
        u8(Codes.ITEM_FIRST_CHUNK)
        u64(offset)
    }

    mutating func name(_ name: String) {
        u8(Codes.ITEM_NAME)
        str(name)
    }
}
