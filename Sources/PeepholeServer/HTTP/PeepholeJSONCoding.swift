import Hummingbird
import NIOCore
import PeepholeCore
import PeepholeProtocols

/// Reads Peephole JSON request bodies: the media type checked, the body collected within
/// `max_body_bytes` (by `Content-Length` before reading, else while it streams in), then decoded
/// under the request limits. The one place a request body is read.
package struct PeepholeBodyDecoder: Sendable {
    /// Media types accepted as JSON. `application/x-www-form-urlencoded` is what `curl -d`
    /// sends by default; the body must still parse as JSON.
    static let acceptedTypes: Set<String> = ["application/json", "application/x-www-form-urlencoded"]

    /// The largest body accepted, in bytes.
    let maxBodyBytes: Int
    /// The bounds the body is decoded under.
    let limits: RequestLimits

    package init(maxBodyBytes: Int, limits: RequestLimits) {
        self.maxBodyBytes = maxBodyBytes
        self.limits = limits
    }

    /// The body of `request` as a `T`.
    package func decode<T: PeepholeRequestBody>(_ type: T.Type, from request: Request) async throws -> T {
        try Self.checkContentType(request)
        let body = try await Self.collect(request, limit: maxBodyBytes)
        return try PeepholeJSON.decode(type, from: body.readableBytesView, limits: limits)
    }

    /// The body of `request`, refused with 413 past `limit` bytes: by `Content-Length` before
    /// reading, else while it streams in. Every protocol's bodies are collected here.
    ///
    /// A body whose `Content-Length` is more than one read (NIO reads at most 64 KiB at a time)
    /// goes into one buffer of that size as its parts arrive. Appended part after part to the
    /// first one, it was copied at every doubling of the buffer, and the smaller buffers stayed
    /// with the allocator: the first 7 MiB V2 body a server read raised its peak resident memory
    /// by 17.1 MiB, 14.6 MiB now (the body and its copy as bytes). A smaller body usually comes in
    /// one part, which is the buffer, uncopied.
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        let length = request.headers.value(of: .contentLength).flatMap(Int.init)
        if let length, length > limit {
            throw ServerError.bodyTooLarge(limit: limit)
        }
        var request = request
        do {
            if let length, length > 65_536 {
                var body = ByteBufferAllocator().buffer(capacity: length)
                try await request.body.collect(upTo: limit, into: &body)
                return body
            }
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ServerError.bodyTooLarge(limit: limit)
        }
    }

    /// Accepts a missing `Content-Type`, the accepted types with parameters, and `+json` types.
    static func checkContentType(_ request: Request) throws {
        guard let header = request.headers.value(of: .contentType), header != "application/json" else { return }
        let type = header.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard acceptedTypes.contains(type) || type.hasSuffix("+json") else {
            throw ServerError.unsupportedMediaType(header)
        }
    }
}

/// Writes Peephole JSON response bodies: every route's `ResponseEncodable` answer goes through
/// it (`PeepholeRequestContext.responseEncoder`).
package struct PeepholeResponseEncoder: ResponseEncoder {
    package init() {}

    package func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        .json(try PeepholeJSON.encode(value))
    }
}

extension Response {
    /// A JSON response of already-encoded bytes.
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension PredictResponse: ResponseEncodable {}
extension LayerOutputResponse: ResponseEncodable {}
extension GenerateResponse: ResponseEncodable {}
extension SessionStepResponse: ResponseEncodable {}
extension SessionResponse: ResponseEncodable {}
extension SessionClosedResponse: ResponseEncodable {}
extension ModelListResponse: ResponseEncodable {}
extension VersionResponse: ResponseEncodable {}
extension LayersResponse: ResponseEncodable {}
extension StatusResponse: ResponseEncodable {}
extension ReloadResponse: ResponseEncodable {}
extension SessionOpenedResponse: ResponseEncodable {}
extension CorpusResponse: ResponseEncodable {}
extension UnitStatisticsResponse: ResponseEncodable {}
extension MatchResponse: ResponseEncodable {}
