#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable run of bytes in `malloc`ed memory, written little-endian: the
/// span protocol's messages, a thread's pending records and a span's
/// recorded items are each one.
///
/// A value type over memory it does not own: whoever holds it (a
/// ``ThreadBuffer``, a ``Span``) frees it with ``release()``. Copying one
/// copies the pointer, not the bytes, so a hot-path writer copies it into a
/// local, writes, and stores it back (two accesses to the owner's property
/// instead of one per field). Not thread-safe: its owner serialises access.
struct Bytes {
    private(set) var base: UnsafeMutableRawPointer?
    /// Bytes written; set it lower to drop what follows (a rollback).
    var count = 0
    private(set) var capacity = 0

    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(n) }
    }

    @inline(never)
    private mutating func grow(_ n: Int) {
        let wanted = max(capacity * 2, count + n, 256)
        guard let grown = realloc(base, wanted) else { fatalError("agtrace: out of memory for \(wanted) bytes") }
        base = grown
        capacity = wanted
    }

    /// Frees the memory; the value is empty afterwards.
    mutating func release() {
        free(base)
        self = Bytes()
    }

    /// Gives memory back after an unusually large message, keeping the
    /// usual working size.
    mutating func trim(to limit: Int) {
        if count == 0 && capacity > limit { release() }
    }

    @inline(__always)
    mutating func u8(_ v: UInt8) {
        reserve(1)
        base.unsafelyUnwrapped.storeBytes(of: v, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    mutating func u32(_ v: UInt32) {
        reserve(4)
        base.unsafelyUnwrapped.storeBytes(of: v.littleEndian, toByteOffset: count, as: UInt32.self)
        count += 4
    }

    @inline(__always)
    mutating func u64(_ v: UInt64) {
        reserve(8)
        base.unsafelyUnwrapped.storeBytes(of: v.littleEndian, toByteOffset: count, as: UInt64.self)
        count += 8
    }

    @inline(__always)
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    @inline(__always)
    mutating func f64(_ v: Double) { u64(v.bitPattern) }

    /// Bytes as they are, without a length.
    @inline(__always)
    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        raw(bytes.baseAddress, bytes.count)
    }

    @inline(__always)
    mutating func raw(_ from: UnsafeRawPointer?, _ n: Int) {
        guard let from, n > 0 else { return }
        reserve(n)
        (base.unsafelyUnwrapped + count).copyMemory(from: from, byteCount: n)
        count += n
    }

    /// A protocol `str`: `u32` byte length, then the UTF-8 bytes.
    @inline(__always)
    mutating func str(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(utf8.count))
            raw(utf8.baseAddress, utf8.count)
        }
    }

    /// A protocol `strs`: `u32` count, then each `str`.
    mutating func strs(_ items: [String]) {
        u32(UInt32(items.count))
        for s in items { str(s) }
    }

    /// Overwrites the `u32` at `offset` (a length written before its body).
    @inline(__always)
    mutating func patch(_ offset: Int, _ v: UInt32) {
        base.unsafelyUnwrapped.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// The bytes written, valid until the next write.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
