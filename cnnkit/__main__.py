"""Command line: ``python -m cnnkit <command>``.

Commands:
    info                 print the device summary (backend, versions, CPU/GPU, precision)
    train MODEL          train a registered classifier on a dataset, report test accuracy, save a .keras file
    evaluate PATH        evaluate a saved .keras classifier on a dataset's test split

Examples:
    python -m cnnkit train simple_cnn --data digits --epochs 10
    python -m cnnkit evaluate runs/simple_cnn_digits.keras --data digits
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# The image-classification datasets `train` and `evaluate` accept, and the image size each
# offline one is resized to unless --image-size says otherwise (the online ones come as they are).
DATASETS = ("cifar10", "digits", "fashion_mnist", "shapes")
DEFAULT_IMAGE_SIZE = {"digits": 32, "shapes": 32}


def cmd_info(args: argparse.Namespace) -> int:
    from cnnkit import __version__, device

    print(f"cnnkit {__version__}")
    print(device.describe())
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _classifiers() -> list[str]:
    from cnnkit.models import list_models

    return list_models(task="classification")


def _load_data(name: str, image_size):
    """Load a dataset by name, resized (offline sets only) to ``image_size`` or the default size."""
    from cnnkit import data

    if name in DEFAULT_IMAGE_SIZE:
        return data.load_dataset(name, image_size=image_size or DEFAULT_IMAGE_SIZE[name])
    return data.load_dataset(name)


def cmd_train(args: argparse.Namespace) -> int:
    if args.model not in _classifiers():
        return _fail(f"unknown model {args.model!r}; valid models: {', '.join(_classifiers())}")
    if args.data not in DATASETS:
        return _fail(f"unknown dataset {args.data!r}; valid datasets: {', '.join(DATASETS)}")
    if args.epochs < 1:
        return _fail(f"--epochs must be a positive integer; received {args.epochs}")

    import keras

    from cnnkit import create_model, train

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
    result = train.evaluate(model, dataset.x_test, dataset.y_test, class_names=dataset.class_names)
    print(f"test accuracy: {result.accuracy:.4f} ({int((result.y_true == result.y_pred).sum())}/{len(result.y_true)}) "
          f"after {history.epochs} epochs in {history.seconds:.1f} s")
    output = Path(args.output or f"runs/{args.model}_{args.data}.keras")
    if output.suffix != ".keras":
        return _fail(f"--output must end in .keras; received {str(output)!r}")
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save(output)
    print(f"saved: {output}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.is_file():
        return _fail(f"no such model file: {str(path)!r}")
    if args.data not in DATASETS:
        return _fail(f"unknown dataset {args.data!r}; valid datasets: {', '.join(DATASETS)}")

    import keras

    import cnnkit  # noqa: F401  (registers cnnkit's layers so the file loads)
    from cnnkit import train

    model = keras.models.load_model(path)
    height, width, channels = model.input_shape[1:]
    if args.image_size is not None and args.image_size != height:
        return _fail(f"the model expects {height}x{width} images; received --image-size {args.image_size}")
    dataset = _load_data(args.data, height)
    if dataset.input_shape != (height, width, channels):
        return _fail(f"the model expects images of shape {(height, width, channels)}, dataset {args.data!r} has "
                     f"{dataset.input_shape}")
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
    fit.add_argument("--output", default=None, help="where to save (default: runs/MODEL_DATA.keras)")
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
