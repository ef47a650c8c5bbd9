extension Network {
    /// Runs the model on one input (validated by the caller): the whole model, or only the layers
    /// layer `last` depends on. See `run(_:through:capture:states:initialStates:traces:)` with inputs.
    public func run(
        _ input: Tensor, through last: Int? = nil, capture: Set<Int> = [], states: Set<Int> = [],
        initialStates: [Int: LayerState] = [:], traces: [Int: TraceOptions] = [:], clamps: [Int: [StateClamp]] = [:]
    ) -> ForwardResult {
        run([input], through: last, capture: capture, states: states, initialStates: initialStates, traces: traces, clamps: clamps)
    }

    /// Runs the model on `inputs` (one tensor per model input, in order, validated by
    /// `validate(inputs:)`), computing only what is asked for: layer `last` (nil: every model
    /// output) and the layers in `capture`, `states` and `traces`, and the layers they depend on.
    ///
    /// Keeps the outputs of the layers in `capture` and the final states of the recurrent layers in
    /// `states`. Recurrent layers in `initialStates` start from those states (validated by the
    /// caller) instead of what the graph feeds them (Keras `initial_state`) or zeros; recurrent
    /// layers in `traces` record their steps; recurrent layers in `clamps` have those states
    /// clamped as they run (interventions).
    public func run(
        _ inputs: [Tensor], through last: Int? = nil, capture: Set<Int> = [], states: Set<Int> = [],
        initialStates: [Int: LayerState] = [:], traces: [Int: TraceOptions] = [:], clamps: [Int: [StateClamp]] = [:]
    ) -> ForwardResult {
        precondition(inputs.count == self.inputs.count, "\(inputs.count) inputs for a model of \(self.inputs.count)")
        let targets = last.map { [TensorSource.layer($0, output: 0)] } ?? outputs.map(\.source)
        // The whole model, as a plain prediction asks for, was worked out when the network was built.
        let whole = last == nil && capture.isEmpty && states.isEmpty && traces.isEmpty  // clamps change values, not what runs
        let needed = whole ? wholeRun.needed : self.needed(targets + capture.union(states).union(traces.keys).map { TensorSource.layer($0, output: 0) })
        var pass = Pass(network: self, inputs: inputs, pendingReads: whole ? wholeRun.pendingReads
            : Self.pendingReads(layers: layers, operations: operations, needed: needed, kept: targets))
        var result = ForwardResult(output: inputs[0], layerOutputs: [:], states: [:])
        for index in order where needed[index] {
            let call = layers[index].call
            let arguments = call.inputs.map { pass.value(of: $0, in: self) }
            var outputs: [Value]
            switch layers[index].operation {
            case .recurrent, .bidirectional:
                // An explicit mask (Keras `mask=`) replaces the one the input carries.
                var input = arguments[0]
                if let source = call.mask { input.mask = pass.value(of: source, in: self).tensor.data.map { $0 != 0 } }
                let graphState = call.initialState.map { pass.value(of: $0, in: self).tensor }
                let recurrent = runRecurrent(index, input, initial: initialStates[index], graphState: graphState, trace: traces[index], clamps: clamps[index] ?? [])
                outputs = recurrent.outputs
                if states.contains(index) { result.states[index] = LayerState(directions: recurrent.finals) }
                if !recurrent.traces.isEmpty { result.traces[index] = recurrent.traces }
            default:
                outputs = [layers[index].operation.apply(arguments)]
            }
            pass.store(outputs, of: index, after: layers[index].reads)
            if capture.contains(index) {
                result.layerOutputs[index] = outputs[0].tensor
                result.layerOutputTensors[index] = outputs.map(\.tensor)
            }
        }
        if let last {
            result.output = pass.value(of: .layer(last, output: 0), in: self).tensor
        } else {
            result.outputs = outputs.map { pass.value(of: $0.source, in: self).tensor }
            result.output = result.outputs[0]
        }
        return result
    }

    /// Whether each layer is needed for `targets`: the layers they depend on, themselves included.
    func needed(_ targets: [TensorSource]) -> [Bool] {
        var needed = [Bool](repeating: false, count: layers.count)
        func visit(_ source: TensorSource) {
            switch source {
            case let .layer(index, _):
                guard !needed[index] else { return }
                needed[index] = true
                layers[index].reads.forEach(visit)
            case let .operation(index): visit(operations[index].input)
            case .input: break
            }
        }
        targets.forEach(visit)
        return needed
    }

    /// How many needed layers read each layer's outputs; nil for the layers whose outputs stay
    /// to the end of the pass (`kept`, and the arguments of mask operations).
    static func pendingReads(layers: [NetworkLayer], operations: [MaskOperation], needed: [Bool], kept: [TensorSource]) -> [Int?] {
        var reads = [Int?](repeating: 0, count: layers.count)
        for (index, layer) in layers.enumerated() where needed[index] {
            for case let .layer(source, _) in layer.reads { reads[source]? += 1 }
        }
        for case let .layer(source, _) in kept + operations.map(\.input) { reads[source] = nil }
        return reads
    }

    /// The tensors of one pass: the inputs, each layer's outputs until the last layer reading
    /// them has run (so a pass holds what is still to be read, as a chain did), and the mask
    /// operations' results, computed on first use.
    private struct Pass {
        var inputs: [Value]
        var layers: [[Value]]
        var operations: [Value?]
        /// Reads of each layer's outputs still to come; nil for outputs kept to the end (the
        /// targets, and the arguments of mask operations, which are computed on first use).
        var pendingReads: [Int?]

        init(network: Network, inputs: [Tensor], pendingReads: [Int?]) {
            self.inputs = inputs.map { Value(tensor: $0, mask: nil) }
            layers = Array(repeating: [], count: network.layers.count)
            operations = Array(repeating: nil, count: network.operations.count)
            self.pendingReads = pendingReads
        }

        mutating func value(of source: TensorSource, in network: Network) -> Value {
            switch source {
            case let .input(index): return inputs[index]
            case let .layer(index, output): return layers[index][output]
            case let .operation(index):
                if let value = operations[index] { return value }
                let operation = network.operations[index]
                let value = Value(tensor: Merging.maskOperation(operation.kind, self.value(of: operation.input, in: network).tensor), mask: nil)
                operations[index] = value
                return value
            }
        }

        /// Keeps layer `index`'s outputs, and drops those of the layers it read that no later layer reads.
        mutating func store(_ outputs: [Value], of index: Int, after reads: [TensorSource]) {
            layers[index] = pendingReads[index] == 0 ? [] : outputs
            for case let .layer(source, _) in reads {
                guard let pending = pendingReads[source] else { continue }
                pendingReads[source] = pending - 1
                if pending == 1 { layers[source] = [] }
            }
        }
    }

    /// Runs recurrent layer `index` (one direction or Bidirectional) on `input`, from `initial`
    /// (a request's states), else `graphState` (the tensors the graph feeds as `initial_state`,
    /// every direction's in turn), else zeros. Its outputs: the output, then with `return_state`
    /// every direction's final states; the output keeps the input's mask with `return_sequences`.
    /// Also returns each direction's final states and, when asked for, its trace.
    private func runRecurrent(_ index: Int, _ input: Value, initial: LayerState?, graphState: [Tensor], trace options: TraceOptions?,
                              clamps: [StateClamp]) -> (outputs: [Value], finals: [[Tensor]], traces: [RecurrentTrace]) {
        func directionClamps(_ direction: Int) -> [StateClamp] { clamps.filter { $0.direction == nil || $0.direction == direction } }
        let layer = layers[index], directions = layer.directions!
        var starts: [[Tensor]?]? = initial?.directions
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
            let recorder = direction.recorder(options, clamps: directionClamps(0), input: input.tensor)
            let run = direction.run(input.tensor, mask: input.mask, initial: starts?[0] ?? nil, trace: recorder)
            output = run.output
            finals = [run.states]
            recorders = recorder.map { [$0] } ?? []
        case let .bidirectional(bidirectional):
            let pair = (bidirectional.forward.recorder(options, clamps: directionClamps(0), input: input.tensor),
                        bidirectional.backward.recorder(options, clamps: directionClamps(1), input: input.tensor))
            let run = bidirectional.run(input.tensor, mask: input.mask, initial: (starts?[0] ?? nil, starts?[1] ?? nil), traces: pair)
            output = run.output
            finals = [run.forward, run.backward]
            recorders = [pair.0, pair.1].compactMap { $0 }
        default:
            preconditionFailure("layer \(layer.name) is not recurrent")
        }
        let sequenceMask = directions[0].returnSequences ? input.mask : nil
        let stateOutputs = directions[0].returnState ? finals.joined().map { Value(tensor: $0, mask: nil) } : []
        return ([Value(tensor: output, mask: sequenceMask)] + stateOutputs, finals, recorders.compactMap(\.result))
    }
}
