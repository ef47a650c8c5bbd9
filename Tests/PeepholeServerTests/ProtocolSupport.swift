import CompressNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import PeepholeServer

/// Helpers for the KServe V2 and TF Serving route tests: binary bodies both ways, and the
/// Peephole API's numbers to compare with.
extension TestClientProtocol {
    /// POSTs a V2 body: `header` (JSON) and, when given, the binary part after it with
    /// `Inference-Header-Content-Length`; no Content-Type, as tritonclient sends.
    func v2(_ uri: String, _ header: String, binary: [UInt8]? = nil, headers extra: HTTPFields = [:],
            headerLength: String? = nil) async throws -> TestResponse {
        var headers = extra
        var bytes = Array(header.utf8)
        if let binary {
            headers[KServeV2Controller.headerLength] = headerLength ?? String(bytes.count)
            bytes += binary
        } else if let headerLength {
            headers[KServeV2Controller.headerLength] = headerLength
        }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }
}

extension TestResponse {
    /// A V2 response split at `Inference-Header-Content-Length`: the JSON header, and each
    /// binary output's floats by name (JSON outputs' `data` too).
    var v2: (json: [String: Any], outputs: [String: [Float]]) {
        let bytes = Array(body.readableBytesView)
        let length = headers[KServeV2Controller.headerLength].flatMap(Int.init) ?? bytes.count
        let json = (try? JSONSerialization.jsonObject(with: Data(bytes[..<length]))) as? [String: Any] ?? [:]
        var outputs: [String: [Float]] = [:]
        var position = length
        for output in json["outputs"] as? [[String: Any]] ?? [] {
            let name = output["name"] as! String
            if let size = (output["parameters"] as? [String: Any])?["binary_data_size"] as? Int {
                outputs[name] = floats(Array(bytes[position..<(position + size)]))
                position += size
            } else {
                outputs[name] = (output["data"] as? [Double])?.map(Float.init)
            }
        }
        return (json, outputs)
    }

    /// `error` of a `{"error": "<message>"}` body.
    var protocolError: String? { json["error"] as? String }
}

/// Little-endian bytes of `values`.
func bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
}

/// Little-endian bytes of `values` as INT64.
func bytes(int64 values: [Int64]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
}

/// BYTES elements: a 4-byte little-endian length, then the bytes.
func bytes(strings: [String]) -> [UInt8] {
    strings.flatMap { string in withUnsafeBytes(of: UInt32(string.utf8.count).littleEndian, Array.init) + Array(string.utf8) }
}

/// Floats from little-endian bytes.
func floats(_ bytes: [UInt8]) -> [Float] {
    stride(from: 0, to: bytes.count, by: 4).map { offset in
        bytes[offset..<(offset + 4)].withUnsafeBytes { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
    }
}

/// Every number in a nested JSON array, row-major.
func flat(_ value: Any?) -> [Float] {
    if let number = value as? Double { return [Float(number)] }
    if let number = value as? NSNumber { return [number.floatValue] }
    return (value as? [Any] ?? []).flatMap(flat)
}

/// A one-hot input for the `onehot` model (6 steps of 10), flat, varied per step and row.
func oneHotFlat(batch: Int = 1) -> [Float] {
    var values = [Float](repeating: 0, count: batch * 60)
    for row in 0..<batch {
        for step in 0..<6 { values[(row * 6 + step) * 10 + (step * 3 + row) % 10] = 1 }
    }
    return values
}

/// `flat` as nested JSON of shape `[batch, 6, 10]`.
func oneHotJSON(_ flat: [Float], batch: Int = 1) -> String {
    let rows = (0..<batch).map { row -> String in
        let steps = (0..<6).map { step -> String in
            let values = (0..<10).map { unit -> String in String(Int(flat[(row * 6 + step) * 10 + unit])) }
            return "[" + values.joined(separator: ",") + "]"
        }
        return "[" + steps.joined(separator: ",") + "]"
    }
    return "[" + rows.joined(separator: ",") + "]"
}

/// Floats equal within the float32 rounding of one pass run in two ways (batched or not).
func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
    !a.isEmpty && a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
}

/// `bytes` gzip- or deflate- (zlib) compressed, as a client sends them.
func compress(_ bytes: [UInt8], encoding: String) throws -> [UInt8] {
    var buffer = ByteBuffer(bytes: bytes)
    return Array(try buffer.compress(with: encoding == "gzip" ? .gzip() : .zlib()).readableBytesView)
}

/// `bytes` inflated from gzip or deflate (zlib).
func decompress(_ bytes: [UInt8], encoding: String) throws -> [UInt8] {
    var buffer = ByteBuffer(bytes: bytes)
    return Array(try buffer.decompress(with: encoding == "gzip" ? .gzip() : .zlib()).readableBytesView)
}
