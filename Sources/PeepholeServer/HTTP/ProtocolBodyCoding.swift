import CompressNIO
import Hummingbird
import NIOCore
import PeepholeCore
import PeepholeProtocols

/// Reads and writes the bodies of the serving protocols (KServe V2, TF Serving): any
/// `Content-Type` (tritonclient sends none, and a V2 body with binary tensors is not JSON),
/// request bodies in gzip or deflate (`Content-Encoding`) inflated within `max_body_bytes`, and
/// responses compressed when `Accept-Encoding` asks. The one file that imports CompressNIO
/// (zlib): `deflate` is HTTP's zlib-wrapped deflate (RFC 9110), what Python's `zlib.compress`
/// writes.
struct ProtocolBodyCoding: Sendable {
    /// The largest body accepted, in bytes, before and after inflating.
    let maxBodyBytes: Int

    /// The request's body, inflated.
    func read(_ request: Request) async throws -> [UInt8] {
        var body = try await PeepholeBodyDecoder.collect(request, limit: maxBodyBytes)
        let encoding = request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased() ?? "identity"
        let algorithm: CompressionAlgorithm
        switch encoding {
        case "identity", "": return Array(body.readableBytesView)
        case "gzip", "x-gzip": algorithm = .gzip()
        case "deflate": algorithm = .zlib()
        default: throw ServerError.unsupportedContentEncoding(encoding)
        }
        guard body.readableBytes > 0 else {
            throw PeepholeError.invalidInput(field: "body", message: "empty, but Content-Encoding says \(encoding)")
        }
        do {
            return try inflate(&body, with: algorithm)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw ServerError.bodyTooLarge(limit: maxBodyBytes)
        } catch is CompressNIOError {
            throw PeepholeError.invalidInput(field: "body", message: "not valid \(encoding) data (Content-Encoding: \(encoding))")
        }
    }

    /// `body` inflated into one buffer with room for `maxBodyBytes` + 1 bytes: a bomb fills it and
    /// is refused, so inflating costs at most the limit. (CompressNIO's own `decompress(maxSize:)`
    /// grows buffers whose capacities round up to powers of two: a body inflating a little past
    /// the limit came back whole, and a bomb held up to 1.5 times the limit.) The room is
    /// allocated, not touched, so a small body costs what it inflates to.
    private func inflate(_ body: inout ByteBuffer, with algorithm: CompressionAlgorithm) throws -> [UInt8] {
        let decompressor = algorithm.decompressor
        try decompressor.startStream()
        defer { try? decompressor.finishStream() }
        var inflated = ByteBufferAllocator().buffer(capacity: maxBodyBytes + 1)
        let spare = inflated.writableBytes - (maxBodyBytes + 1)
        inflated.moveWriterIndex(forwardBy: spare)
        inflated.moveReaderIndex(forwardBy: spare)
        try body.decompressStream(to: &inflated, with: decompressor)
        guard inflated.readableBytes <= maxBodyBytes else { throw ServerError.bodyTooLarge(limit: maxBodyBytes) }
        return Array(inflated.readableBytesView)
    }

    /// A response of `bytes` with `headers`, gzip- or deflate-compressed when the request's
    /// `Accept-Encoding` lists either (gzip first).
    func response(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields, to request: Request) -> Response {
        var fields = headers
        var buffer = ByteBuffer(bytes: bytes)
        if let accepted = request.headers[.acceptEncoding], !bytes.isEmpty {
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
