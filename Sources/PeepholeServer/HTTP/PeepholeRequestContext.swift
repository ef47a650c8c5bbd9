import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basic one plus the client's address, which
/// the admin routes check when no admin token is configured, and the Peephole JSON encoder for
/// responses.
public struct PeepholeRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's own per-request state.
    public var coreContext: CoreRequestContextStorage
    /// The connected client, nil when the transport has none (in-process router tests).
    public let remoteAddress: SocketAddress?

    /// A context for a request arriving on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Responses are written by `PeepholeResponseEncoder`.
    public var responseEncoder: some ResponseEncoder { PeepholeResponseEncoder() }
}
