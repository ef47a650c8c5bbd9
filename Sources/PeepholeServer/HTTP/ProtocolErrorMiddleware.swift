import Hummingbird
import PeepholeProtocols

/// The error body of the serving protocols (KServe V2, TF Serving): `{"error": "<message>"}`,
/// with the status and message `ErrorResponse` maps every error to (400 bad request, 404
/// unknown model, version or output, 503 not ready or queue full, as Triton and TF Serving
/// answer). Added to the protocols' route groups, so the Peephole routes keep their own body.
struct ProtocolErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Runs `next`, mapping what it throws.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = ErrorResponse(error)
            mapped.log(error, of: request, to: context.logger)
            var writer = JSONWriter()
            writer.beginObject()
            writer.string(mapped.message, key: "error")
            writer.endObject()
            return .json(writer.bytes, status: mapped.status, headers: mapped.headers)
        }
    }
}
