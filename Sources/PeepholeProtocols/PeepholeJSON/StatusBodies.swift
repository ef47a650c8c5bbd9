import PeepholeCore

/// `{"error": {"message", "code"}}`: how the Peephole API answers a request it cannot serve.
public struct ErrorBody: Encodable, Sendable {
    /// The message for people, naming the field or resource at fault.
    var message: String
    /// The stable, machine-readable code.
    var code: String

    /// An error body with `message` and `code`.
    public init(message: String, code: String) {
        self.message = message
        self.code = code
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        var error = container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey("error"))
        try error.encode(message, forKey: JSONKey("message"))
        try error.encode(code, forKey: JSONKey("code"))
    }
}

/// `GET /health` and `/ready`: `{"status"}`, and the number of models once ready.
public struct StatusResponse: Encodable, Sendable {
    /// `ok`, `ready` or `loading`.
    var status: String
    /// How many models are served.
    var models: Int?

    /// A status, with the model count when given.
    public init(status: String, models: Int? = nil) {
        self.status = status
        self.models = models
    }
}

/// `POST /admin/reload`: `{"loaded": [{"model", "version"}], "damaged": […]}`.
public struct ReloadResponse: Encodable, Sendable {
    /// The versions newly served.
    var loaded: [ModelVersion]
    /// The new versions that failed to load.
    var damaged: [ModelVersion]

    /// The versions a reload loaded, and those it found damaged.
    public init(loaded: [(model: String, version: Int)], damaged: [(model: String, version: Int)]) {
        self.loaded = loaded.map(ModelVersion.init)
        self.damaged = damaged.map(ModelVersion.init)
    }

    struct ModelVersion: Encodable, Sendable {
        var model: String
        var version: Int
    }
}
