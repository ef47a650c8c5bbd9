import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PeepholeCore
import PeepholeProtocols

/// What goes wrong in the HTTP layer rather than in the core.
enum ServerError: Error, Equatable {
    /// Models are still loading.
    case notReady
    /// No route has this path.
    case routeNotFound(method: String, path: String)
    /// A route has this path, but not this method.
    case methodNotAllowed(method: String, path: String, allowed: [String])
    /// A `Content-Type` that is not JSON.
    case unsupportedMediaType(String)
    /// A `Content-Encoding` other than gzip, deflate or identity (serving protocols).
    case unsupportedContentEncoding(String)
    /// A body over `max_body_bytes`.
    case bodyTooLarge(limit: Int)
    /// A version path segment that is not a version number.
    case invalidVersion(model: String, segment: String)
    /// No open session has this id (never opened, deleted, or expired).
    case unknownSession(String)
    /// `max_sessions` sessions are open; retry after some expire.
    case tooManySessions(limit: Int, retryAfter: Int)
    /// `limit` requests for `model` are in flight already.
    case queueFull(model: String, limit: Int)
    /// An admin route without the configured bearer token.
    case adminTokenRequired
    /// An admin route from a non-loopback client while no admin token is configured.
    case adminLoopbackOnly
    /// A connection past `max_connections`.
    case tooManyConnections
}

/// An error as the client sees it: status, stable code and message, as
/// `{"error": {"message": "...", "code": "..."}}`. This is the one place errors become HTTP.
struct ErrorResponse {
    /// The HTTP status.
    var status: HTTPResponse.Status
    /// The machine-readable code.
    var code: String
    /// The message for people, naming the field or resource at fault.
    var message: String
    /// Extra headers (`Allow` on a 405).
    var headers: HTTPFields = [:]

    /// Maps any error thrown while handling a request.
    init(_ error: any Error) {
        switch error {
        case let error as PeepholeError: self.init(error)
        case let error as ServerError: self.init(error)
        case let error as ProtocolError: self.init(status: .notFound, code: "unknown_output", message: error.description)
        case HTTPParserError.invalidEOFState, ChannelError.ioOnClosedChannel, ChannelError.eof:
            // The client closed the connection before its request was whole: its behaviour, not
            // a server fault. Counted as nginx counts it; the answer reaches no one.
            self.init(status: .init(code: 499, reasonPhrase: "Client Closed Request"), code: "client_closed",
                      message: "the client closed the connection before the request was whole")
        case let error as RequestBodyTimeout:
            self.init(status: .requestTimeout, code: "body_timeout",
                      message: "the request body did not arrive within \(error.seconds) s (body_timeout_seconds)", headers: [.connection: "close"])
        case let error as HTTPError:
            self.init(status: error.status, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase, headers: error.headers)
        default:
            self.init(status: .internalServerError, code: "internal_error", message: "internal error")
        }
    }

    private init(status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    private init(_ error: PeepholeError) {
        let status: HTTPResponse.Status = switch error {
        case .invalidInput, .notApplicable: .badRequest
        case .unknownModel, .unknownVersion, .unknownLayer, .noDefaultModel: .notFound
        case .damagedModel: .serviceUnavailable
        case .unreadableFile, .unsupported, .missingWeights, .weightShape, .storeFailure: .internalServerError
        }
        self.init(status: status, code: error.code, message: error.description)
    }

    private init(_ error: ServerError) {
        switch error {
        case .notReady:
            self.init(status: .serviceUnavailable, code: "not_ready", message: "models are still loading; retry when /ready answers 200")
        case let .routeNotFound(method, path):
            self.init(status: .notFound, code: "unknown_route", message: "no route for \(method) \(path); see /openapi.json")
        case let .methodNotAllowed(method, path, allowed):
            self.init(status: .methodNotAllowed, code: "method_not_allowed",
                      message: "\(path) does not accept \(method) (allowed: \(allowed.joined(separator: ", ")))",
                      headers: [.allow: allowed.joined(separator: ", ")])
        case let .unsupportedMediaType(type):
            self.init(status: .unsupportedMediaType, code: "unsupported_media_type",
                      message: "Content-Type '\(type)' is not JSON; send application/json")
        case let .unsupportedContentEncoding(encoding):
            self.init(status: .unsupportedMediaType, code: "unsupported_content_encoding",
                      message: "Content-Encoding '\(encoding)' is not supported; send gzip, deflate or identity")
        case let .bodyTooLarge(limit):
            self.init(status: .contentTooLarge, code: "body_too_large", message: "the request body exceeds the limit of \(limit) bytes")
        case let .invalidVersion(model, segment):
            self.init(status: .notFound, code: "unknown_version",
                      message: "model '\(model)' has no version '\(segment)': versions are positive integers")
        case let .unknownSession(id):
            self.init(status: .notFound, code: "unknown_session", message: "no open session '\(id)' (it was never opened, was deleted, or expired)")
        case let .tooManySessions(limit, retryAfter):
            self.init(status: .tooManyRequests, code: "too_many_sessions",
                      message: "\(limit) sessions are open, the configured maximum; delete one or retry after \(retryAfter) s",
                      headers: [.retryAfter: String(retryAfter)])
        case let .queueFull(model, limit):
            self.init(status: .serviceUnavailable, code: "queue_full",
                      message: "model '\(model)' has \(limit) requests in flight, the configured maximum; retry shortly",
                      headers: [.retryAfter: "1"])
        case .adminTokenRequired:
            self.init(status: .unauthorized, code: "admin_token_required",
                      message: "admin routes need the header 'Authorization: Bearer <admin_token>'",
                      headers: [.wwwAuthenticate: "Bearer"])
        case .adminLoopbackOnly:
            self.init(status: .forbidden, code: "admin_loopback_only",
                      message: "admin routes are served to loopback clients only while no admin_token is configured")
        case .tooManyConnections:
            self.init(status: .serviceUnavailable, code: "too_many_connections", message: "too many connections; retry later",
                      headers: [.retryAfter: "1"])
        }
    }

    /// The JSON response.
    var response: Response {
        .json(body, status: status, headers: headers)
    }

    /// The JSON body.
    var body: [UInt8] {
        (try? PeepholeJSON.encode(ErrorBody(message: message, code: code))) ?? []
    }
}

/// Turns every error thrown below it into a JSON error response, logging server faults.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Runs `next`, mapping what it throws.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = ErrorResponse(error)
            mapped.log(error, of: request, to: context.logger)
            return mapped.response
        }
    }
}

extension ErrorResponse {
    /// Logs `error`, thrown answering `request`: server faults at `error`, clients that left at
    /// `info`, refused requests at `debug`.
    func log(_ error: any Error, of request: Request, to logger: Logger) {
        // Made only if the line is logged: a refused request is logged at debug, below the default level.
        let metadata = { () -> Logger.Metadata in [
            "http.method": "\(request.method)", "http.path": "\(request.uri.path)",
            "http.status": "\(status.code)", "error": "\(error)",
        ] }
        if status.code >= 500 {
            logger.error("Request failed", metadata: metadata())
        } else if code == "client_closed" {
            logger.info("Client closed the request", metadata: metadata())
        } else {
            logger.debug("Request refused", metadata: metadata())
        }
    }
}
