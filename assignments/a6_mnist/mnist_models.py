"""MLP and CNN classifiers for MNIST / Fashion-MNIST, in PyTorch.

Images are 28x28 grayscale, stored as uint8 in [0, 255], ten classes. The pipeline is:

    uint8 images (N, 28, 28) --normalize--> float (N, 1, 28, 28) --model--> logits (N, 10)

and the same ``normalize`` is used for training and for grading, so a model only ever sees
normalized inputs. Logits are unnormalized scores: softmax turns them into probabilities, and
``torch.nn.functional.cross_entropy`` takes logits directly (it applies log-softmax itself).

Grading (see README.md): either the grader loads your saved ``mlp.pt`` / ``cnn.pt`` state_dicts
into ``build_mlp()`` / ``build_cnn()`` and measures test accuracy (checkpoint mode), or it calls
your ``train`` on the training set within a time budget and measures the result (retrain mode).
Save a checkpoint with ``torch.save(model.state_dict(), "mlp.pt")``: the state_dict only, never
the model object, and ``build_mlp()`` must rebuild exactly the architecture you trained.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Mean and standard deviation of all Fashion-MNIST training pixels, after scaling to [0, 1].
# (MNIST's are 0.1307 and 0.3081; any fixed values close to the data's work, as long as
# training and evaluation use the same ones.)
PIXEL_MEAN = 0.2860
PIXEL_STD = 0.3530

IMAGE_SIZE = 28
NUM_CLASSES = 10


def conv_output_size(w: int, k: int, p: int = 0, s: int = 1) -> int:
    """Spatial size of a convolution's (or pooling's) output along one dimension.

    Args:
        w: input width (or height).
        k: kernel size.
        p: zero padding added on each side.
        s: stride.

    Formula: floor((w - k + 2p) / s) + 1. The kernel fits (w + 2p - k) / s + 1 times when it
    slides by s over the padded input; a last partial window is dropped, hence the floor.
    Example: w=28, k=5, p=0, s=1 gives 24; w=28, k=3, p=1, s=1 keeps 28 ("same" padding);
    a 2x2 max pool with stride 2 (k=2, s=2) halves an even size: 28 -> 14.
    """
    # TODO: return the formula above as a Python int (integer floor division does the floor).
    raise NotImplementedError


def build_mlp() -> nn.Module:
    """A multilayer perceptron (fully connected layers only) for 28x28 images, 10 classes.

    Input (N, 1, 28, 28) float, normalized as ``normalize`` does; output (N, 10) logits.
    The image is flattened to a vector of 784 pixels, so the network ignores where pixels are:
    shuffling all pixels the same way in every image would not change what it can learn.
    Layout: Flatten -> [Linear -> ReLU -> Dropout] x hidden layers -> Linear(., 10).
    No softmax at the end: the loss takes logits.

    Keep it within the parameter limit in the README (a few hundred thousand parameters are
    plenty), and with dropout, since a wide MLP overfits Fashion-MNIST quickly.
    """
    # TODO: return an nn.Sequential (or your own nn.Module) mapping (N, 1, 28, 28) to (N, 10).
    raise NotImplementedError


def build_cnn() -> nn.Module:
    """A convolutional network for 28x28 images, 10 classes.

    Input (N, 1, 28, 28) float, normalized; output (N, 10) logits.
    A convolution slides small learned filters over the image: weights are shared across
    positions and each output sees only a local patch, so it needs far fewer parameters than a
    fully connected layer and detects a pattern wherever it appears. Pooling (max over 2x2
    windows, stride 2) halves the resolution, which makes the features tolerant to small
    shifts and widens what the next layer's filters see.
    Layout: [Conv2d -> MaxPool2d -> BatchNorm2d -> ReLU] x 2 -> Flatten -> Dropout -> Linear
    -> ReLU -> Dropout -> Linear(., 10). Use ``conv_output_size`` to work out the flattened
    size (3x3 convolutions with padding 1 keep 28, each 2x2 pool halves it: 28 -> 14 -> 7).
    """
    # TODO: return a network with at least one nn.Conv2d mapping (N, 1, 28, 28) to (N, 10).
    raise NotImplementedError


def normalize(images_uint8: torch.Tensor) -> torch.Tensor:
    """Turn raw images into network inputs.

    Shapes: (N, 28, 28) uint8 in [0, 255] -> (N, 1, 28, 28) float32.
    Formula: x = (pixel / 255 - PIXEL_MEAN) / PIXEL_STD, then a channel axis of size 1.
    Standardized inputs (mean about 0, standard deviation about 1) keep the first layer's
    pre-activations in a range where gradients flow and let one learning rate suit all
    weights. Do not modify the input tensor.
    """
    # TODO: convert to float32, scale to [0, 1], standardize, add the channel axis.
    raise NotImplementedError


def train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    device: str,
    seed: int,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    hflip: bool = False,
    history: list[float] | None = None,
) -> nn.Module:
    """Train ``model`` on ``images`` / ``labels`` with minibatch Adam and cross-entropy.

    Args:
        model: from build_mlp() or build_cnn().
        images: (N, 28, 28) uint8 tensor, raw pixels as in the data set (normalized here).
        labels: (N,) int64 class indices in 0..9.
        epochs: passes over the training set.
        device: "cpu" or "cuda"; the model and every batch are moved there.
        seed: makes the run repeatable (initial shuffles, dropout masks, flips).
        batch_size, lr, weight_decay: minibatch size, Adam's peak learning rate and its L2
            penalty (AdamW's decoupled form).
        hflip: randomly mirror half of each batch left-right (data augmentation; fine for
            clothes, wrong for digits).
        history: if given, the mean training loss of every epoch is appended to it.

    Returns the trained model in eval mode (dropout off, batch-norm running statistics on).

    The loop, per epoch: shuffle the indices, then for each minibatch: forward pass, loss,
    ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``. The reference uses
    AdamW with a one-cycle learning-rate schedule (``torch.optim.lr_scheduler.OneCycleLR``:
    warm up, then anneal), which converges in few epochs; plain Adam at 1e-3 works too.
    """
    # TODO: seed torch, move the model to device, normalize the images once, then loop over
    # epochs and shuffled minibatches as described above; call model.train() before training
    # and model.eval() before returning.
    raise NotImplementedError  # then: return model
