import PeepholeCore

/// What one forward pass must compute for a set of outputs: the layers whose outputs are
/// captured, whose states are kept and whose steps are recorded, and how far to run. Nothing
/// else is computed.
struct OutputPlan: Sendable {
    /// The layers whose outputs are asked for.
    var capture: Set<Int> = []
    /// The layers whose final states are asked for.
    var states: Set<Int> = []
    /// The layers whose steps are recorded, and how.
    var traces: [Int: TraceOptions] = [:]
    /// The last layer to run.
    var through = 0
    /// The one shareable pass that computes everything asked, when the outputs are a single
    /// plain layer or model output.
    var sharedPass: ForwardPass?

    /// What a pass produced: a shared pass's outputs, or a full result.
    enum Computed {
        case outputs([Tensor])
        case result(ForwardResult)
    }

    /// The plan for `selections` of `model`. Per-step outputs of one layer share one recording,
    /// so they must ask the same units and steps.
    init(_ selections: [OutputSelection], model: LoadedModel) throws {
        var owners: [Int: String] = [:]
        for selection in selections {
            through = max(through, selection.layer)
            switch selection.field {
            case .output: capture.insert(selection.layer)
            case .state: states.insert(selection.layer)
            case .sequence, .gate, .preactivation:
                var options = traces[selection.layer] ?? TraceOptions()
                if let owner = owners[selection.layer] {
                    guard options.units == selection.units, options.steps == selection.steps else {
                        throw PeepholeError.invalidInput(field: "outputs", message: "'\(owner)' and '\(selection.name)' record the same layer, so they must ask the same units, steps_from and steps_to (or go in separate requests)")
                    }
                } else {
                    owners[selection.layer] = selection.name
                    options.units = selection.units
                    options.steps = selection.steps
                }
                switch selection.field {
                case .sequence: options.sequence = true
                case .gate: options.gates = true
                default: options.preactivations = true
                }
                traces[selection.layer] = options
            }
        }
        if selections.count == 1, case let .output(tensor) = selections[0].field {
            let outputs = model.network.outputs.map(\.source), source = TensorSource.layer(selections[0].layer, output: tensor)
            sharedPass = outputs == [source] ? .model : tensor == 0 ? .layer(selections[0].layer) : nil
        }
    }

    /// The shape and flat data of `selection` in `computed`.
    func extract(_ selection: OutputSelection, from computed: Computed) -> (shape: [Int], data: [Float]) {
        let result: ForwardResult
        switch computed {
        case let .outputs(tensors): return (tensors[0].shape, tensors[0].data)
        case let .result(full): result = full
        }
        switch selection.field {
        case let .output(tensor):
            let tensor = result.layerOutputTensors[selection.layer]![tensor]
            return (tensor.shape, tensor.data)
        case let .state(direction, index):
            let tensor = result.states[selection.layer]!.directions[direction ?? 0][index]
            return (tensor.shape, tensor.data)
        case let .sequence(direction), let .gate(direction, _), let .preactivation(direction, _):
            let trace = result.traces[selection.layer]![direction ?? 0]
            let data: [Float] = switch selection.field {
            case .sequence: trace.sequence!
            case let .gate(_, key): trace.gates![key]!
            case let .preactivation(_, key): trace.preactivations![key]!
            default: []
            }
            return ([result.output.shape[0], trace.steps.count, trace.units.count], data)
        }
    }
}
