"""Exercises of notebook 04, Backbones (``notebooks/04_backbones.ipynb``); solutions in ``solutions/04_backbones_solutions.ipynb``.

04.3 and 04.5 have exact answers that the builders compute (parameter counts,
pyramid level names at the shapes images' size, 48 px, or 32 px in quick
mode); the others are experiments whose outcome depends on seeds and budget,
so they get a model answer that says what to measure and what the notebook's
own measurements lead one to expect. The format and the recipe are in
``cnnkit.exercises`` and CONTRIBUTING.md ("Exercises and solutions").
"""

from __future__ import annotations

from cnnkit.config import pick

# From the private modules, not from the package, which imports this module (no import cycle).
from cnnkit.exercises._checkers import expect_equal, expect_fields
from cnnkit.exercises._core import exercise, lazy, model_answer

SHAPES_CLASSES = 6


def shapes_input() -> tuple[int, int, int]:
    """The notebook's shapes images: 48x48x3 (32x32x3 in quick mode)."""
    side = pick(full=48, quick=32)
    return (side, side, 3)


def resnet_params(block: str) -> int:
    from cnnkit.models import create_model  # lazily: registering stays cheap

    return create_model("resnet_small", num_classes=SHAPES_CLASSES, input_shape=shapes_input(),
                        block=block).count_params()


def pyramid_levels(name: str) -> list[str]:
    from cnnkit.models import create_model, pyramid_outputs

    return list(pyramid_outputs(create_model(name, include_top=False, input_shape=shapes_input())))


model_answer("04.1", (
    "Measure it as section 2 does, three seeds per variant. In the worked solution, doubling the depth "
    "makes the plain stack's first-to-last gradient ratio jump from tens to thousands, while the residual "
    "stack's stays in the tens: depth makes plain gradients far less even. The hypothesis to test next, by "
    "training both for section 2's budget: the plain stack's training loss rises further (degradation grows "
    "with depth) while the residual stack's barely moves, since each block starts close to the identity. "
    "Without batch norm (`use_bn=False`) expect the plain stack to train even worse in the budget and the "
    "residual one to still train, more slowly; compare the means over three seeds with `experiments.verdict`."),
    title="Deeper still", level=2, minutes=20)

model_answer("04.2", (
    "With the branch's last gamma at zero, every residual block outputs relu(x + 0): the network starts "
    "as a shallow one (the stem and the projections), and the gradient still reaches every branch "
    "through the identity paths, so the branches learn from the first step. Goyal et al. found it "
    "helps most for large batches and large learning rates. In section 2's budget, expect a slightly "
    "lower training loss in the first epoch and a small or no difference at the end: compare the means "
    "over three seeds with `experiments.verdict` before concluding, it is likely to stay a hypothesis."),
    title="Zero-init residuals", level=2, minutes=20)

exercise("04.3", title="Bottlenecks", level=1, minutes=10,
         check=expect_fields({
             "basic": expect_equal(lazy(lambda: resnet_params("basic")),
                                   what="the parameter count with basic blocks"),
             "bottleneck": expect_equal(lazy(lambda: resnet_params("bottleneck")),
                                        what="the parameter count with bottleneck blocks"),
         }),
         correct=lazy(lambda: {"basic": resnet_params("basic"), "bottleneck": resnet_params("bottleneck")}),
         wrong=lazy(lambda: {"basic": resnet_params("basic"), "bottleneck": resnet_params("basic")}),
         hint="create_model('resnet_small', num_classes=6, input_shape=shapes.input_shape, block=...)"
              ".count_params(), once per block type (count_params includes batch norm's moving statistics).")

model_answer("04.4", (
    "MACs grow linearly with depth and with the square of width and of resolution, so a 2x budget is "
    "about 2x the depth, 1.41x the width or 1.41x the resolution. On 48-pixel shapes, more resolution "
    "adds pixels the task does not need and more depth adds receptive field the network already has "
    "(section 7: 459 px for a 48-px image); more width adds features per layer, which helps a short "
    "training most. Tan & Le's argument is that a balanced mix beats any single axis on ImageNet, where "
    "objects are small and images large; on shapes the differences are likely within the spread over "
    "seeds, so report mean ± std and the verdicts, not a winner from one run."),
    title="Width vs depth vs resolution", level=3, minutes=45)

exercise("04.5", title="Pyramid levels", level=1, minutes=10,
         check=expect_fields({
             "mobilenet_small": expect_equal(lazy(lambda: pyramid_levels("mobilenet_small")),
                                             what="mobilenet_small's levels, in order"),
             "vgg_small": expect_equal(lazy(lambda: pyramid_levels("vgg_small")),
                                       what="vgg_small's levels, in order"),
         }),
         correct=lazy(lambda: {name: pyramid_levels(name) for name in ("mobilenet_small", "vgg_small")}),
         wrong=lazy(lambda: {"mobilenet_small": ["P2", "P3", "P4", "P5"], "vgg_small": ["P2", "P3", "P4", "P5"]}),
         hint="list(pyramid_outputs(create_model(name, include_top=False, input_shape=shapes.input_shape))) "
              "gives the level names in order.")

model_answer("04.6", (
    "With 5 labels per class the fine-tuning step has almost nothing to learn from: unfreezing the last "
    "block (3 layers) changes little, 10 or 30 layers about as little at a learning rate of 1e-4, and "
    "unfreezing everything can lower the mean and widen the spread, because millions of weights then fit "
    "ten images. At 1e-3 the pretrained features are changed fast enough to be damaged in the first "
    "steps: accuracy drops towards that of training from scratch. The lesson is the recipe's: the fewer "
    "the labels, the fewer layers to unfreeze and the lower the learning rate."),
    title="Fine-tuning depth", level=2, minutes=30)

model_answer("04.7", (
    "In training mode every batch-norm layer normalises with the statistics of the current batch of "
    "about ten face and background crops, not ImageNet's, and overwrites its moving averages with "
    "them (section 3: a fraction 1 - momentum per step). The features the head learned to read shift "
    "from step to step, and at test time the layers use moving averages of those few batches. Expect a "
    "lower and more variable test accuracy than with batch norm kept frozen; measure it over three "
    "seeds. This is why `build_transfer_model` calls the backbone with `training=False`."),
    title="Batch norm in fine-tuning", level=2, minutes=20)

model_answer("04.8", (
    "The ReLU is the change that matters most: tanh saturates for large inputs, so with unnormalised "
    "layers and colour-varying inputs many units sit where their gradient is near zero, while ReLU "
    "passes the gradient of every active unit unchanged. Max pooling then helps further, keeping the "
    "strongest edge response in each window instead of averaging it with the background. Compare the "
    "three variants over three seeds with the same budget (section 7's EPOCHS) before ranking them."),
    title="LeNet-5, modernised", level=2, minutes=20)
