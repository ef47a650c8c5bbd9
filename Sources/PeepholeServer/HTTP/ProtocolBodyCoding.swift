import CCompressZlib
import CompressNIO
import Hummingbird
import NIOCore
import PeepholeCore
import PeepholeProtocols

/// Reads and writes the bodies of the serving protocols (KServe V2, TF Serving): any
/// `Content-Type` (tritonclient sends none, and a V2 body with binary tensors is not JSON),
/// request bodies in gzip or deflate (`Content-Encoding`) inflated within `max_body_bytes`, and
/// responses compressed when `Accept-Encoding` asks. The one file that uses zlib (through
/// CompressNIO to compress, directly to inflate): `deflate` is HTTP's zlib-wrapped deflate
/// (RFC 9110), what Python's `zlib.compress` writes.
struct ProtocolBodyCoding: Sendable {
    /// The largest body accepted, in bytes, before and after inflating.
    let maxBodyBytes: Int

    /// The request's body, inflated (an uncompressed body as it was read, uncopied).
    func read(_ request: Request) async throws -> ByteBuffer {
        let body = try await PeepholeBodyDecoder.collect(request, limit: maxBodyBytes)
        let encoding = request.headers.value(of: .contentEncoding)?.trimmingCharacters(in: .whitespaces).lowercased() ?? "identity"
        let gzip: Bool
        switch encoding {
        case "identity", "": return body
        case "gzip", "x-gzip": gzip = true
        case "deflate": gzip = false
        default: throw ServerError.unsupportedContentEncoding(encoding)
        }
        guard body.readableBytes > 0 else {
            throw PeepholeError.invalidInput(field: "body", message: "empty, but Content-Encoding says \(encoding)")
        }
        return try inflate(body, gzip: gzip, encoding: encoding)
    }

    /// `body` inflated by zlib into room for `maxBodyBytes` + 1 bytes: a bomb fills it and is
    /// refused, so inflating costs at most the limit, and the room is allocated, not touched, so a
    /// small body costs what it inflates to. The data must end exactly where its stream does, its
    /// check value (gzip's CRC-32 and length, zlib's Adler-32) verified: a body cut short or with
    /// bytes after its end is refused, not read as far as it goes. (CompressNIO's streaming
    /// inflate stops quietly wherever the input does, which accepted a gzip body without its
    /// trailer.) A gzip body may hold several members, read one after another.
    private func inflate(_ body: ByteBuffer, gzip: Bool, encoding: String) throws -> ByteBuffer {
        var stream = z_stream()
        // 15: the largest window; +16: a gzip header and trailer instead of zlib's.
        guard CCompressZlib_inflateInit2(&stream, gzip ? 15 + 16 : 15) == Z_OK else {
            throw ZlibFailure(operation: "inflateInit2")
        }
        defer { inflateEnd(&stream) }
        let room = maxBodyBytes + 1
        var outcome = Z_OK
        var inflated = ByteBufferAllocator().buffer(capacity: room)
        try inflated.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { output in
            try body.withUnsafeReadableBytes { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = UInt32(clamping: input.count)
                stream.next_out = output.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = UInt32(clamping: room)
                while true {
                    outcome = CCompressZlib.inflate(&stream, Z_FINISH)
                    // Another gzip member (its magic bytes 1f 8b) follows the one that ended.
                    guard outcome == Z_STREAM_END, gzip, stream.avail_in >= 2,
                          stream.next_in[0] == 0x1F, stream.next_in[1] == 0x8B else { break }
                    guard inflateReset(&stream) == Z_OK else { throw ZlibFailure(operation: "inflateReset") }
                }
                return room - Int(stream.avail_out)
            }
        }
        if inflated.readableBytes > maxBodyBytes { throw ServerError.bodyTooLarge(limit: maxBodyBytes) }
        switch outcome {
        case Z_STREAM_END where stream.avail_in == 0:
            return inflated
        case Z_STREAM_END:
            throw PeepholeError.invalidInput(field: "body", message: "\(stream.avail_in) bytes follow the end of the \(encoding) data (Content-Encoding: \(encoding))")
        case Z_BUF_ERROR where stream.avail_in == 0:
            throw PeepholeError.invalidInput(field: "body", message: "the \(encoding) data is cut short: it ends before its end marker\(gzip ? " and trailer" : "") (Content-Encoding: \(encoding))")
        default:
            let reason = stream.msg.map { ": " + String(cString: $0) } ?? ""
            throw PeepholeError.invalidInput(field: "body", message: "not valid \(encoding) data (Content-Encoding: \(encoding))\(reason)")
        }
    }

    /// A response of `bytes` with `headers`, gzip- or deflate-compressed when the request's
    /// `Accept-Encoding` lists either (gzip first).
    func response(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields, to request: Request) -> Response {
        var fields = headers
        var buffer = ByteBuffer(bytes: bytes)
        if let accepted = request.headers.value(of: .acceptEncoding), !bytes.isEmpty {
            let codings = Self.codings(accepted)
            let name = codings.contains("gzip") ? "gzip" : codings.contains("deflate") ? "deflate" : nil
            if let name, let compressed = try? buffer.compress(with: name == "gzip" ? .gzip() : .zlib()) {
                buffer = compressed
                fields[.contentEncoding] = name
            }
            fields[.vary] = "Accept-Encoding"
        }
        return Response(status: status, headers: fields, body: .init(byteBuffer: buffer))
    }

    /// The codings an `Accept-Encoding` value accepts (`q=0` excluded).
    static func codings(_ header: String) -> Set<String> {
        Set(header.split(separator: ",").compactMap { item in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let name = parts.first, !name.isEmpty else { return nil }
            if let quality = parts.dropFirst().first(where: { $0.hasPrefix("q=") }), Double(quality.dropFirst(2)) == 0 { return nil }
            return name
        })
    }
}

/// zlib refused to start or restart an inflate stream (out of memory): a server fault, a 500.
private struct ZlibFailure: Error, CustomStringConvertible {
    let operation: String
    var description: String { "zlib's \(operation) failed" }
}
