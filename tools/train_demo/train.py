"""Train Peephole's bundled demo model: a character-level LSTM over the GPL-3 text.

Writes, into --out (default: models/ at the repository root):
  chars.keras          the trained model (Keras 3 format, saved uncompiled: no optimizer state)
  chars.vocab.json     the vocabulary: a JSON array of single characters, in one-hot index order
  chars.expected.json  what Keras computes for three 40-character windows of the text, for a
                       regression test: {"text", "inputs", "predict", "layers", "states", ...}

The text is /usr/share/common-licenses/GPL-3 (Debian's copy of the GNU GPL v3, which may be
copied verbatim), so the script runs offline. Run it through tools/train_demo/run.sh.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import keras  # noqa: E402

WINDOW = 40
SEED = 42
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "models"))
# The first expected window ends at the first of these found in the text (Debian's GPL-3 has
# "free software: you can"); otherwise it is the window at the start of the text.
PROMPT_ENDINGS = ("free software; you can", "free software: you can")


def build_model(vocabulary_size):
    return keras.Sequential(
        [
            keras.Input(shape=(WINDOW, vocabulary_size)),
            keras.layers.LSTM(64, dropout=0.2, name="lstm"),
            keras.layers.Dense(vocabulary_size, activation="softmax", name="dense"),
        ],
        name="chars",
    )


def one_hot(texts, index):
    x = np.zeros((len(texts), len(texts[0]), len(index)), dtype=np.float32)
    for row, text in enumerate(texts):
        for step, char in enumerate(text):
            x[row, step, index[char]] = 1.0
    return x


def expected_windows(text):
    windows = []
    for ending in PROMPT_ENDINGS:
        at = text.find(ending)
        if at >= 0 and at + len(ending) >= WINDOW:
            end = at + len(ending)
            windows.append(text[end - WINDOW:end])
            break
    else:
        windows.append(text[:WINDOW])
    for start in (len(text) // 3, 2 * len(text) // 3):
        windows.append(text[start:start + WINDOW])
    assert all(len(w) == WINDOW for w in windows)
    return windows


def sample(model, prompt, index, vocabulary, length, temperature, rng):
    """Generates `length` characters after `prompt`; temperature 0 picks the most likely one."""
    window = prompt
    generated = []
    for _ in range(length):
        probabilities = np.asarray(model(one_hot([window], index), training=False))[0].astype(np.float64)
        if temperature == 0:
            choice = int(np.argmax(probabilities))
        else:
            logits = np.log(np.maximum(probabilities, 1e-12)) / temperature
            weights = np.exp(logits - logits.max())
            choice = int(rng.choice(len(weights), p=weights / weights.sum()))
        generated.append(vocabulary[choice])
        window = window[1:] + vocabulary[choice]
    return "".join(generated)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", default="/usr/share/common-licenses/GPL-3")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--sample-length", type=int, default=200)
    args = parser.parse_args()

    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    vocabulary = "".join(sorted(set(text)))
    index = {char: i for i, char in enumerate(vocabulary)}
    print(f"text {args.text}: {len(text)} characters, vocabulary of {len(vocabulary)}")
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, numpy {np.__version__}")

    starts = range(0, len(text) - WINDOW, args.stride)
    x = one_hot([text[s:s + WINDOW] for s in starts], index)
    y = one_hot([[text[s + WINDOW] for s in starts]], index)[0]
    print(f"{len(x)} windows of {WINDOW} characters (stride {args.stride})")

    keras.utils.set_random_seed(SEED)
    model = build_model(len(vocabulary))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    started = time.time()
    history = model.fit(x, y, batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=2)
    elapsed = time.time() - started
    loss, accuracy = history.history["loss"][-1], history.history["accuracy"][-1]
    print(f"trained {args.epochs} epochs in {elapsed:.1f} s ({elapsed / args.epochs:.1f} s/epoch): "
          f"final loss {loss:.4f}, accuracy {accuracy:.4f}")
    eval_loss, eval_accuracy = model.evaluate(x, y, batch_size=512, verbose=0)
    print(f"evaluated on the training windows without dropout: loss {eval_loss:.4f}, accuracy {eval_accuracy:.4f}")

    # Save an uncompiled copy: the demo model needs no optimizer state.
    os.makedirs(args.out, exist_ok=True)
    inference = build_model(len(vocabulary))
    inference.set_weights(model.get_weights())
    model_path = os.path.join(args.out, "chars.keras")
    if os.path.exists(model_path):
        os.remove(model_path)
    inference.save(model_path)
    with open(os.path.join(args.out, "chars.vocab.json"), "w", encoding="utf-8") as f:
        json.dump(list(vocabulary), f, ensure_ascii=False)
        f.write("\n")

    # The expected record comes from the saved file, reloaded.
    loaded = keras.models.load_model(model_path)
    windows = expected_windows(text)
    inputs = one_hot(windows, index)
    predict = loaded.predict(inputs, verbose=0)
    lstm = loaded.get_layer("lstm")
    lstm_output = keras.Model(loaded.inputs, lstm.output).predict(inputs, verbose=0)
    reload_difference = float(np.max(np.abs(predict - model.predict(inputs, verbose=0))))
    assert reload_difference <= 1e-6, f"reloaded model differs by {reload_difference}"
    # Final LSTM states, from a stateful-output twin of the layer with the same weights.
    twin_input = keras.Input(shape=(WINDOW, len(vocabulary)))
    twin_lstm = keras.layers.LSTM(64, return_state=True)
    twin = keras.Model(twin_input, twin_lstm(twin_input))
    twin_lstm.set_weights(lstm.get_weights())
    _, h, c = twin.predict(inputs, verbose=0)
    assert float(np.max(np.abs(h - lstm_output))) <= 1e-6
    expected = {
        "model": "chars",
        "keras_version": keras.__version__,
        "note": f"seed {SEED}, {args.epochs} epochs, batch {args.batch}, stride {args.stride}, Adam(0.01); "
                f"windows of {args.text}; saved uncompiled",
        "text": windows,
        "inputs": inputs.tolist(),
        "predict": predict.astype(np.float32).tolist(),
        "layers": {"lstm": lstm_output.astype(np.float32).tolist(), "dense": predict.astype(np.float32).tolist()},
        "states": {"lstm": {"h": h.astype(np.float32).tolist(), "c": c.astype(np.float32).tolist()}},
    }
    with open(os.path.join(args.out, "chars.expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {model_path}, chars.vocab.json, chars.expected.json to {args.out}")
    for window, row in zip(windows, predict):
        top = np.argsort(row)[::-1][:3]
        print(f"  {window!r} -> " + ", ".join(f"{vocabulary[i]!r} {row[i]:.3f}" for i in top))

    rng = np.random.default_rng(SEED)
    prompt = windows[0]
    print(f"greedy sample after {prompt!r}:\n{prompt}{sample(loaded, prompt, index, vocabulary, args.sample_length, 0, rng)}")
    print(f"temperature 0.5 sample after {prompt!r}:\n"
          f"{prompt}{sample(loaded, prompt, index, vocabulary, args.sample_length, 0.5, rng)}")


if __name__ == "__main__":
    main()
