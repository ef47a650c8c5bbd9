import PeepholeCore

/// A session's state and the model version it is pinned to, as whoever keeps sessions holds
/// them: steps on one session run one at a time.
public protocol SessionHolder: Sendable {
    /// The model version the session runs on.
    var model: LoadedModel { get }
    /// Runs `body` on the session's state, alone.
    func withState<T>(_ body: (inout SessionState) throws -> T) rethrows -> T
}

extension PeepholeAPI {
    /// `POST …/sessions`: the answer for a session just opened on `model`.
    public func opened(_ id: String, model: LoadedModel, expiresIn: Int) -> SessionOpenedResponse {
        SessionOpenedResponse(session: id, model: model.info.model, version: model.info.version, expiresIn: expiresIn)
    }

    /// `POST /sessions/{id}/step`: one chunk from the carried states, and the layer asked for.
    public func step(_ request: SessionStepRequest, session: some SessionHolder) async throws -> SessionStepResponse {
        let model = session.model
        let inputs = try request.input.tensors(for: model, limits: limits)
        let batch = inputs[0].shape[0]
        let query = try request.layer.map { name in
            try request.options.query(layer: try model.layerIndex(name), named: name, in: model, batch: batch)
        }
        let clamps = try request.interventions.clamps(for: model)
        return try await runner.alone(model, endpoint: "session_step", batch: batch) {
            try session.withState { state in
                let result = try state.step(model, inputs, layer: query, clamps: clamps)
                return SessionStepResponse(
                    session: state.id, model: model.info.model, version: model.info.version, step: state.steps, outputs: OutputsJSON(result.outputs, of: model.network),
                    layer: query.map { LayerReport(request.layer!, $0, result, layer: model.network.layers[$0.layer], batch: batch) })
            }
        }
    }

    /// `GET /sessions/{id}`: the session and every state it carries.
    public func describe(_ session: some SessionHolder) -> SessionResponse {
        session.withState { SessionResponse($0, model: session.model) }
    }

    /// `PUT /sessions/{id}/state`: sets the states given; answers like `describe`.
    public func setStates(_ request: SessionStatesRequest, session: some SessionHolder) throws -> SessionResponse {
        let network = session.model.network
        return try session.withState { state in
            let rows = try state.batch ?? request.batch()
            guard rows <= limits.maxBatch else {
                throw PeepholeError.invalidInput(field: "body", message: "a batch of \(rows) exceeds the limit of \(limits.maxBatch)")
            }
            var updated: [Int: LayerState] = [:]
            for (name, value) in request.layers.sorted(by: { $0.key < $1.key }) {
                let index = try session.model.layerIndex(name)
                updated[index] = try LayerStateReading.state(value, field: name, layer: network.layers[index], batch: rows, base: state.states[index])
            }
            state.set(updated, rows: rows)
            return SessionResponse(state, model: session.model)
        }
    }

    /// `POST /sessions/{id}/reset`: zeroes every state; answers like `describe`.
    public func reset(_ session: some SessionHolder) -> SessionResponse {
        session.withState { state in
            state.reset()
            return SessionResponse(state, model: session.model)
        }
    }
}
