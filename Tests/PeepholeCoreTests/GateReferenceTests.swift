import Foundation
import Testing
@testable import PeepholeCore

/// One model file and the numpy reference of its LSTM internals (`tools/fixtures/gates.py`).
struct GateCase: CustomTestStringConvertible, Sendable {
    let modelFile: URL
    let gatesFile: URL
    /// The expected file holds the inputs the reference was computed for.
    let expectedFile: URL
    var testDescription: String { modelFile.lastPathComponent }

    /// Every `X.gates.json` in `directory` paired with the model files `X.keras` and `X.h5` beside
    /// it: `NAME.k3.gates.json` is checked on `NAME.k3.keras` and `NAME.k3.h5`, `NAME.k2.gates.json`
    /// on `NAME.k2.h5`.
    static func all(in directory: URL) -> [GateCase] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".gates.json") }.sorted().flatMap { gates in
            let stem = String(gates.dropLast(".gates.json".count))
            return names.filter { $0 == stem + ".keras" || $0 == stem + ".h5" }.sorted().map {
                GateCase(modelFile: directory.appendingPathComponent($0), gatesFile: directory.appendingPathComponent(gates),
                         expectedFile: directory.appendingPathComponent(stem + ".expected.json"))
            }
        }
    }
}

/// Every LSTM's gates, cell and hidden states and pre-activations at every step, compared with a
/// reference computed independently from the weights with numpy in float64 (the reference is
/// itself checked against the layer outputs and states Keras recorded). Conventions: step t is
/// the t-th step processed; at a masked step i = 0, f = 1, g = 0, o repeats the last unmasked
/// step's output gate, c and h are carried, and the pre-activations are the computed values.
///
/// Set `PEEPHOLE_GATE_REPORT=1` to print the largest difference per quantity and model file.
@Suite struct GateReferenceTests {
    /// Reference key → tolerance for a reference value.
    private static let tolerances: [(key: String, tolerance: @Sendable (Float) -> Float)] = [
        ("i", { _ in 1e-5 }), ("f", { _ in 1e-5 }), ("g", { _ in 1e-5 }), ("o", { _ in 1e-5 }),
        ("c", Tolerance.state), ("h", Tolerance.state),
        ("zi", { 1e-4 + 1e-4 * abs($0) }), ("zf", { 1e-4 + 1e-4 * abs($0) }),
        ("zg", { 1e-4 + 1e-4 * abs($0) }), ("zo", { 1e-4 + 1e-4 * abs($0) }),
    ]

    @Test func gateReferencesExist() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.own.path)) ?? []
        #expect(names.filter { $0.hasSuffix(".gates.json") }.count >= 10)
        #expect(GateCase.all(in: Fixtures.own).count >= 30)
    }

    @Test(arguments: GateCase.all(in: Fixtures.own))
    func internalsMatchTheNumpyReference(_ gateCase: GateCase) throws {
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: gateCase.gatesFile)) as! [String: Any]
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: gateCase.expectedFile)) as! [String: Any]
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try ModelStore(path: directory.appendingPathComponent("store.sqlite").path)
        try store.importModel(try KerasModelFile.read(path: gateCase.modelFile.path), name: "fixture")
        let network = try store.load(model: "fixture").network

        let input = NumericArray(expected["inputs"]!).tensor
        try network.validate(input)
        let layers = try #require(reference["layers"] as? [String: Any])
        let recurrent = network.recurrentLayerIndices
        #expect(Set(layers.keys) == Set(recurrent.map { network.layers[$0].name }), "the reference covers every LSTM layer")

        var options = TraceOptions()
        options.sequence = true
        options.gates = true
        options.preactivations = true
        let result = network.run(input, traces: Dictionary(uniqueKeysWithValues: recurrent.map { ($0, options) }))

        var worst: [String: Float] = [:]
        for (name, entry) in layers.sorted(by: { $0.key < $1.key }) {
            let index = try #require(network.layerIndex(named: name), "layer \(name)")
            let directions = try #require(entry as? [String: Any])
            let traces = try #require(result.traces[index], "no trace for \(name)")
            if traces.count == 1 {
                compare(traces[0], directions, "\(name)", &worst)
            } else {
                compare(traces[0], try #require(directions["forward"] as? [String: Any]), "\(name).forward", &worst)
                compare(traces[1], try #require(directions["backward"] as? [String: Any]), "\(name).backward", &worst)
            }
        }
        if ProcessInfo.processInfo.environment["PEEPHOLE_GATE_REPORT"] != nil {
            let line = Self.tolerances.map { "\($0.key)=\(worst[$0.key].map { String(format: "%.2e", $0) } ?? "-")" }.joined(separator: " ")
            print("GATES \(gateCase.modelFile.lastPathComponent) \(line)")
        }
    }

    /// Compares one direction's trace with its reference, recording per quantity the number of
    /// values out of tolerance and the worst one with its position.
    private func compare(_ trace: RecurrentTrace, _ reference: [String: Any], _ label: String, _ worst: inout [String: Float]) {
        let h = NumericArray(reference["h"]!)
        guard h.shape.count == 3 else {
            Issue.record("\(label): reference h has shape \(h.shape)")
            return
        }
        let (batch, steps, units) = (h.shape[0], h.shape[1], h.shape[2])
        #expect(trace.steps == 0..<steps, "\(label): recorded steps \(trace.steps)")
        #expect(trace.units == Array(0..<units), "\(label): recorded units")
        let mine: [String: [Float]?] = [
            "i": trace.gates?["i"], "f": trace.gates?["f"], "g": trace.gates?["g"], "o": trace.gates?["o"],
            "c": trace.gates?["c"], "h": trace.sequence,
            "zi": trace.preactivations?["i"], "zf": trace.preactivations?["f"],
            "zg": trace.preactivations?["g"], "zo": trace.preactivations?["o"],
        ]
        for (key, tolerance) in Self.tolerances {
            let expected = NumericArray(reference[key]!)
            guard let actual = mine[key] ?? nil, expected.shape == [batch, steps, units], actual.count == expected.values.count else {
                Issue.record("\(label).\(key): missing or shape \(expected.shape) vs \(mine[key]??.count ?? -1) values")
                continue
            }
            var failures = 0
            var worstExcess: (excess: Float, at: Int)?
            for (at, (value, wanted)) in zip(actual, expected.values).enumerated() {
                let difference = abs(value - wanted)
                worst[key] = max(worst[key] ?? 0, difference)
                let excess = difference - tolerance(wanted)
                if !(excess <= 0) {
                    failures += 1
                    if worstExcess == nil || excess > worstExcess!.excess { worstExcess = (excess, at) }
                }
            }
            if let (_, at) = worstExcess {
                let (row, step, unit) = (at / (steps * units), at / units % steps, at % units)
                Issue.record("\(label).\(key): \(failures) values out of tolerance; worst at row \(row) step \(step) unit \(unit): Peephole \(actual[at]), reference \(expected.values[at])")
            }
        }
    }
}
