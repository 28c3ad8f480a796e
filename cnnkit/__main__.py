"""Command line: ``python -m cnnkit <command>``.

Commands:
    info                 print the device summary (backend, versions, CPU/GPU, precision)
    train MODEL          train a registered classifier on a dataset, report test accuracy, save a .keras file
    evaluate PATH        evaluate a saved .keras classifier on a dataset's test split

Examples:
    python -m cnnkit train simple_cnn --data digits --epochs 10
    python -m cnnkit evaluate runs/simple_cnn_digits.keras --data digits

Every argument is checked before any data is loaded or any epoch is trained
(the same checks as the Python API, :mod:`cnnkit._validate`), including where
the model will be saved: a ``.keras`` path in a writable folder, and no existing
file unless ``--overwrite``. The model is saved atomically
(:func:`cnnkit.export.save_keras`), so a failed save never leaves a corrupt
file where a good model was, and a model whose training diverged to NaN is not
saved at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnkit import _validate as V

# The image-classification datasets `train` and `evaluate` accept, and the image size each
# offline one is resized to unless --image-size says otherwise (the online ones come as they are).
DATASETS = ("cifar10", "digits", "fashion_mnist", "shapes")
DEFAULT_IMAGE_SIZE = {"digits": 32, "shapes": 32}


def _import_cnnkit() -> None:
    """Import Keras and the whole package (cnnkit's layers registered), once the arguments are parsed.

    ``python -m cnnkit`` imports only this module and :mod:`cnnkit._validate` before
    it parses its arguments, so ``--help`` and a bad argument answer at once; the
    commands call this before their first use of Keras.
    """
    import cnnkit

    cnnkit.import_all()


def cmd_info(args: argparse.Namespace) -> int:
    _import_cnnkit()
    from cnnkit import __version__, device

    print(f"cnnkit {__version__}")
    print(device.describe())
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _classifiers() -> list[str]:
    _import_cnnkit()
    from cnnkit.models import list_models

    return list_models(task="classification")


def _load_data(name: str, image_size):
    """Load a dataset by name, resized (offline sets only) to ``image_size`` or the default size."""
    from cnnkit import data

    if name in DEFAULT_IMAGE_SIZE:
        return data.load_dataset(name, image_size=DEFAULT_IMAGE_SIZE[name] if image_size is None else image_size)
    return data.load_dataset(name)


def _start_backend() -> None:
    """Create the first tensor with C-level stderr silenced.

    On a machine without a GPU, TensorFlow's runtime logs "E0000 ... failed call to
    cuInit" from C++ the first time it starts (at the first tensor, not at import);
    nothing is wrong, so the CLI's output should not show it.
    """
    _import_cnnkit()
    import keras

    from cnnkit._native_logs import quiet_native_stderr

    with quiet_native_stderr():
        keras.ops.convert_to_tensor(0.0)


def _check_train_args(args: argparse.Namespace) -> Path:
    """Every ``train`` argument checked before any work; returns the output path. Raises ``ValueError``.

    The checks that need no Keras come first, so most mistakes are answered before it is imported;
    the model name needs the registry, which imports Keras.
    """
    if args.data not in DATASETS:
        raise ValueError(f"unknown dataset {args.data!r}; valid datasets: {', '.join(DATASETS)}")
    V.positive_int(args.epochs, "--epochs")
    V.positive_int(args.batch_size, "--batch-size")
    V.positive_float(args.learning_rate, "--learning-rate")
    if args.patience is not None:  # None (not given) never stops early
        V.non_negative_int(args.patience, "--patience")
    if args.image_size is not None:  # None (not given): the dataset's default size
        V.positive_int(args.image_size, "--image-size")
    V.non_negative_int(args.seed, "--seed")
    output = args.output or f"runs/{args.model}_{args.data}.keras"
    try:
        output = V.output_file(output, "--output", ".keras", overwrite=args.overwrite)
    except ValueError as error:  # the flag's name, not the Python argument's
        raise type(error)(str(error).replace("(pass overwrite", "(pass --overwrite")) from None
    if args.model not in _classifiers():
        raise ValueError(f"unknown model {args.model!r}; valid models: {', '.join(_classifiers())}")
    return output


def _diverged(model, history) -> str | None:
    """Why a trained model is not worth saving (NaN or infinite loss or weights), or ``None``."""
    import numpy as np

    losses = history.history.get("loss", [])
    if losses and not np.isfinite(losses[-1]):
        return f"loss {losses[-1]} in epoch {len(losses)}"
    if not all(np.isfinite(np.asarray(w)).all() for w in model.get_weights()):
        return "NaN or infinite weights"
    return None


def cmd_train(args: argparse.Namespace) -> int:
    try:
        output = _check_train_args(args)
    except ValueError as error:
        return _fail(str(error).removesuffix("."))

    import keras

    from cnnkit import create_model, export, train

    _start_backend()
    keras.utils.set_random_seed(args.seed)
    dataset = _load_data(args.data, args.image_size)
    print(f"data: {dataset!r}")
    model = create_model(args.model, num_classes=dataset.num_classes, input_shape=dataset.input_shape)
    print(f"model: {args.model}, {model.count_params():,} parameters")
    train.compile_model(model, learning_rate=args.learning_rate)
    history = train.fit(
        model, dataset.x_train, dataset.y_train, validation_data=(dataset.x_val, dataset.y_val),
        epochs=args.epochs, batch_size=args.batch_size, early_stopping_patience=args.patience,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    reason = _diverged(model, history)
    if reason is not None:
        print(f"error: training diverged ({reason}); the model was not saved. Try a smaller --learning-rate "
              f"(received {args.learning_rate:g}).", file=sys.stderr)
        return 1
    result = train.evaluate(model, dataset.x_test, dataset.y_test, class_names=dataset.class_names)
    print(f"test accuracy: {result.accuracy:.4f} ({int((result.y_true == result.y_pred).sum())}/{len(result.y_true)}) "
          f"after {history.epochs} epochs in {history.seconds:.1f} s")
    try:
        export.save_keras(model, output)
    except OSError as error:
        state = "is unchanged" if output.exists() else "was not created"
        print(f"error: could not save the model to {str(output)!r} ({error}); {str(output)!r} {state}.",
              file=sys.stderr)
        return 1
    print(f"saved: {output} (load it with cnnkit.export.load_keras, or keras.models.load_model after import cnnkit)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.is_file():
        return _fail(f"no such model file: {str(path)!r}")
    if args.data not in DATASETS:
        return _fail(f"unknown dataset {args.data!r}; valid datasets: {', '.join(DATASETS)}")
    try:
        if args.image_size is not None:
            V.positive_int(args.image_size, "--image-size")
    except ValueError as error:
        return _fail(str(error).removesuffix("."))

    _start_backend()  # imports cnnkit whole: its layers are registered, so the file loads
    from cnnkit import export, train

    try:
        model = export.load_keras(path)  # a corrupt file is told apart from a missing one
    except ValueError as error:
        return _fail(str(error).removesuffix("."))
    if len(model.input_shape) != 4 or len(model.output_shape) != 2:
        return _fail(f"the model takes inputs of shape {model.input_shape}; evaluate needs an image classifier, "
                     f"inputs of shape (None, height, width, channels)")
    height, width, channels = model.input_shape[1:]
    if args.image_size is not None and args.image_size != height:
        return _fail(f"the model expects {height}x{width} images; received --image-size {args.image_size}")
    dataset = _load_data(args.data, height)
    if dataset.input_shape != (height, width, channels):
        return _fail(f"the model expects images of shape {(height, width, channels)}, dataset {args.data!r} has "
                     f"{dataset.input_shape}")
    if model.output_shape[-1] != dataset.num_classes:
        return _fail(f"the model outputs {model.output_shape[-1]} classes; dataset {args.data!r} has "
                     f"{dataset.num_classes}")
    result = train.evaluate(model, dataset.x_test, dataset.y_test, class_names=dataset.class_names)
    print(result)
    print(f"test accuracy: {result.accuracy:.4f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cnnkit", description="cnnkit command line")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    info = commands.add_parser("info", help="print the device summary")
    info.set_defaults(func=cmd_info)

    fit = commands.add_parser("train", help="train a registered classifier and save it as .keras")
    fit.add_argument("model", help="a registered classification model, e.g. simple_cnn")
    fit.add_argument("--data", default="digits", help="dataset name (default: digits)")
    fit.add_argument("--epochs", type=int, default=10)
    fit.add_argument("--batch-size", type=int, default=32)
    fit.add_argument("--learning-rate", type=float, default=1e-3)
    fit.add_argument("--patience", type=int, default=None, help="early-stopping patience (default: none)")
    fit.add_argument("--image-size", type=int, default=None, help="resize images to this size (digits, shapes)")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--output", default=None, help="where to save, a .keras path (default: runs/MODEL_DATA.keras)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    fit.set_defaults(func=cmd_train)

    ev = commands.add_parser("evaluate", help="evaluate a saved .keras classifier on a test split")
    ev.add_argument("path", help="a .keras file saved by `train`")
    ev.add_argument("--data", default="digits", help="dataset name (default: digits)")
    ev.add_argument("--image-size", type=int, default=None, help="must match the model's input size")
    ev.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
