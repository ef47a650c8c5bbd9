import Foundation
import Hummingbird

/// Reads JSON request bodies within the configured size limit.
enum JSONBody {
    /// Media types accepted as JSON. `application/x-www-form-urlencoded` is what `curl -d`
    /// sends by default; the body must still parse as JSON.
    static let acceptedTypes: Set<String> = ["application/json", "application/x-www-form-urlencoded"]

    /// The body of `request`, refusing a non-JSON `Content-Type` (415) and a body over `limit`
    /// bytes (413): by `Content-Length` before reading, else while streaming it in.
    static func read(_ request: Request, limit: Int) async throws -> [UInt8] {
        try checkContentType(request)
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > limit {
            throw ServerError.bodyTooLarge(limit: limit)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(0, length ?? 0))
        for try await chunk in request.body {
            guard bytes.count + chunk.readableBytes <= limit else { throw ServerError.bodyTooLarge(limit: limit) }
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }

    /// Accepts a missing `Content-Type`, the accepted types with parameters, and `+json` types.
    static func checkContentType(_ request: Request) throws {
        guard let header = request.headers[.contentType] else { return }
        let type = header.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard acceptedTypes.contains(type) || type.hasSuffix("+json") else {
            throw ServerError.unsupportedMediaType(header)
        }
    }
}
