extension Network {
    /// Runs the model on one input (validated by the caller): the whole model, or only the layers
    /// layer `last` depends on. See `run(_:through:capture:states:initialStates:traces:)` with inputs.
    public func run(
        _ input: Tensor, through last: Int? = nil, capture: Set<Int> = [], states: Set<Int> = [],
        initialStates: [Int: LayerState] = [:], initialHiddenStates: [Int: HiddenState] = [:], traces: [Int: TraceOptions] = [:]
    ) -> ForwardResult {
        run([input], through: last, capture: capture, states: states, initialStates: initialStates,
            initialHiddenStates: initialHiddenStates, traces: traces)
    }

    /// A starting state as `run` receives it: an LSTM layer's `LayerState`, a GRU or SimpleRNN layer's `HiddenState`.
    enum InitialState: Sendable {
        case lstm(LayerState)
        case hidden(HiddenState)

        var directions: [[Tensor]] {
            switch self {
            case let .lstm(state): state.directions
            case let .hidden(state): state.directions.map { [$0] }
            }
        }
    }

    /// Runs the model on `inputs` (one tensor per model input, in order, validated by
    /// `validate(inputs:)`), computing only what is asked for: layer `last` (nil: every model
    /// output) and the layers in `capture`, `states` and `traces`, and the layers they depend on.
    ///
    /// Keeps the outputs of the layers in `capture` and the final states of the recurrent layers in
    /// `states` (LSTM layers' in `states`, GRU and SimpleRNN layers' in `hiddenStates`). Recurrent
    /// layers in `initialStates` (or `initialHiddenStates`) start from those states (validated by
    /// the caller) instead of what the graph feeds them (Keras `initial_state`) or zeros; recurrent
    /// layers in `traces` record their steps (in `traces`, or `recurrentTraces`).
    public func run(
        _ inputs: [Tensor], through last: Int? = nil, capture: Set<Int> = [], states: Set<Int> = [],
        initialStates: [Int: LayerState] = [:], initialHiddenStates: [Int: HiddenState] = [:], traces: [Int: TraceOptions] = [:]
    ) -> ForwardResult {
        precondition(inputs.count == self.inputs.count, "\(inputs.count) inputs for a model of \(self.inputs.count)")
        let targets = last.map { [TensorSource.layer($0, output: 0)] } ?? outputs.map(\.source)
        let needed = self.needed(targets + capture.union(states).union(traces.keys).map { TensorSource.layer($0, output: 0) })
        var values: [TensorSource: Value] = [:]
        for (index, input) in inputs.enumerated() { values[.input(index)] = Value(tensor: input, mask: nil) }
        // Each tensor is dropped once the last layer reading it has run, so a pass holds only the
        // tensors still to be read (as a chain did) plus the targets and the masks' arguments.
        var uses: [TensorSource: Int] = [:]
        for index in needed { for source in KerasGraph.dependencies(layers[index].call) { uses[source, default: 0] += 1 } }
        let kept = Set(targets + operations.map(\.input))
        var result = ForwardResult(output: inputs[0], layerOutputs: [:], states: [:])
        for index in order where needed.contains(index) {
            let call = layers[index].call
            let arguments = call.inputs.map { value(of: $0, in: &values) }
            var outputs: [Value]
            switch layers[index].operation {
            case .recurrent, .bidirectional:
                // An explicit mask (Keras `mask=`) replaces the one the input carries.
                var input = arguments[0]
                if let source = call.mask { input.mask = value(of: source, in: &values).tensor.data.map { $0 != 0 } }
                let graphState = call.initialState.map { value(of: $0, in: &values).tensor }
                let initial = initialStates[index].map(InitialState.lstm) ?? initialHiddenStates[index].map(InitialState.hidden)
                let recurrent = runRecurrent(index, input, initial: initial, graphState: graphState, trace: traces[index])
                outputs = recurrent.outputs
                if states.contains(index) { record(recurrent.finals, of: index, in: &result) }
                if !recurrent.traces.isEmpty { record(recurrent.traces, of: index, in: &result) }
            default:
                outputs = [layers[index].operation.apply(arguments)]
            }
            for (slot, output) in outputs.enumerated() where uses[.layer(index, output: slot)] != nil || kept.contains(.layer(index, output: slot)) {
                values[.layer(index, output: slot)] = output
            }
            for source in KerasGraph.dependencies(call) where !kept.contains(source) {
                uses[source]! -= 1
                if uses[source] == 0 { values[source] = nil }
            }
            if capture.contains(index) {
                result.layerOutputs[index] = outputs[0].tensor
                result.layerOutputTensors[index] = outputs.map(\.tensor)
            }
        }
        if let last {
            result.output = values[.layer(last, output: 0)]!.tensor
        } else {
            result.outputs = outputs.map { value(of: $0.source, in: &values).tensor }
            result.output = result.outputs[0]
        }
        return result
    }

    /// The layers `targets` depend on, themselves included.
    private func needed(_ targets: [TensorSource]) -> Set<Int> {
        var needed = Set<Int>()
        func visit(_ source: TensorSource) {
            switch source {
            case let .layer(index, _):
                guard needed.insert(index).inserted else { return }
                KerasGraph.dependencies(layers[index].call).forEach(visit)
            case let .operation(index): visit(operations[index].input)
            case .input: break
            }
        }
        targets.forEach(visit)
        return needed
    }

    /// The value of `source`, computing a mask operation on first use.
    private func value(of source: TensorSource, in values: inout [TensorSource: Value]) -> Value {
        if let value = values[source] { return value }
        guard case let .operation(index) = source else { preconditionFailure("\(source) is read before it is computed") }
        let operation = operations[index]
        let computed = Value(tensor: Merging.maskOperation(operation.kind, value(of: operation.input, in: &values).tensor), mask: nil)
        values[source] = computed
        return computed
    }

    /// Runs recurrent layer `index` (one direction or Bidirectional) on `input`, from `initial`
    /// (a request's states), else `graphState` (the tensors the graph feeds as `initial_state`,
    /// every direction's in turn), else zeros. Its outputs: the output, then with `return_state`
    /// every direction's final states; the output keeps the input's mask with `return_sequences`.
    /// Also returns each direction's final states and, when asked for, its trace.
    private func runRecurrent(_ index: Int, _ input: Value, initial: InitialState?, graphState: [Tensor], trace options: TraceOptions?)
        -> (outputs: [Value], finals: [[Tensor]], traces: [RecurrentTrace]) {
        let layer = layers[index], directions = layer.kind.recurrentDirections!
        var starts: [[Tensor]?] = initial?.directions ?? Array(repeating: nil, count: directions.count)
        if initial == nil, !graphState.isEmpty {
            var remaining = graphState[...]
            starts = directions.map { direction in
                defer { remaining = remaining.dropFirst(direction.stateNames.count) }
                return Array(remaining.prefix(direction.stateNames.count))
            }
        }
        let output: Tensor, finals: [[Tensor]], recorders: [TraceRecorder]
        switch layer.operation {
        case let .recurrent(direction):
            let recorder = direction.recorder(options, input: input.tensor)
            let run = direction.run(input.tensor, mask: input.mask, initial: starts[0], trace: recorder)
            output = run.output
            finals = [run.states]
            recorders = recorder.map { [$0] } ?? []
        case let .bidirectional(bidirectional):
            let pair = (bidirectional.forward.recorder(options, input: input.tensor), bidirectional.backward.recorder(options, input: input.tensor))
            let run = bidirectional.run(input.tensor, mask: input.mask, initial: (starts[0], starts[1]), traces: pair)
            output = run.output
            finals = [run.forward, run.backward]
            recorders = [pair.0, pair.1].compactMap { $0 }
        default:
            preconditionFailure("layer \(layer.name) is not recurrent")
        }
        let sequenceMask = directions[0].returnSequences ? input.mask : nil
        let stateOutputs = directions[0].returnState ? finals.joined().map { Value(tensor: $0, mask: nil) } : []
        return ([Value(tensor: output, mask: sequenceMask)] + stateOutputs, finals, recorders.map(\.result))
    }

    /// Files layer `index`'s final states under its kind: `LayerState` for an LSTM, else `HiddenState`.
    private func record(_ finals: [[Tensor]], of index: Int, in result: inout ForwardResult) {
        switch layers[index].kind {
        case .lstm: result.states[index] = .lstm(LSTMState(h: finals[0][0], c: finals[0][1]))
        case .bidirectional:
            result.states[index] = .bidirectional(forward: LSTMState(h: finals[0][0], c: finals[0][1]), backward: LSTMState(h: finals[1][0], c: finals[1][1]))
        default: result.hiddenStates[index] = HiddenState(directions: finals.map { $0[0] })
        }
    }

    /// Files layer `index`'s traces under its kind.
    private func record(_ traces: [RecurrentTrace], of index: Int, in result: inout ForwardResult) {
        switch layers[index].kind {
        case .lstm: result.traces[index] = .lstm(traces[0])
        case .bidirectional: result.traces[index] = .bidirectional(forward: traces[0], backward: traces[1])
        default: result.recurrentTraces[index] = traces
        }
    }
}
