"""Model specs and loading: open_clip models (pretrained, random or from a checkpoint) and ResNet-18.

A *model spec* is a config entry (see ``models`` in ``schemas/config.schema.yaml``)::

    {"kind": "open_clip", "arch": "ViT-B-32-quickgelu", "weights": "pretrained", "pretrained": "openai",
     "checkpoint": None, "seed": 0, "preprocess": "model"}

``weights`` is ``pretrained`` (an open_clip tag, or ImageNet weights for ResNet-18), ``random``
(initialised under ``torch.manual_seed(seed)``) or ``checkpoint`` (a file written by the training
stage). Small architectures of the demo are JSON files in ``model_configs/``, registered with
open_clip on import of this module's loaders.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LoadedModel",
    "WeightsUnavailableError",
    "register_model_configs",
    "load_model",
]

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MODEL_CONFIGS = Path(__file__).parent / "model_configs"

_OFFLINE_HELP = (
    "Pre-download them on a machine with internet, e.g.\n"
    "    python -c \"import open_clip; open_clip.create_model('{arch}', pretrained='{tag}', cache_dir='{cache}')\"\n"
    "and copy that cache folder here (models.<name>.cache_dir / the HF_HOME environment variable), or unset "
    "HF_HUB_OFFLINE on a machine with internet."
)


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be loaded (offline, not cached, or unknown tag)."""


def register_model_configs(folder: str | os.PathLike = MODEL_CONFIGS) -> list[str]:
    """Register every ``*.json`` architecture in ``folder`` with open_clip; returns their names."""
    import open_clip

    names = []
    for path in sorted(Path(folder).glob("*.json")):
        open_clip.add_model_config(str(path))
        names.append(path.stem)
    return names


@dataclass
class LoadedModel:
    """A model ready to embed.

    ``encode_image``/``encode_text`` map a batch tensor to (B, D) embeddings (not normalised);
    ``encode_text`` is None for image-only models (ResNet-18). ``preprocess`` maps a PIL image to a
    (3, H, W) tensor; ``tokenize`` maps a list of strings to (B, context_length) token ids.
    """

    module: nn.Module
    preprocess: Callable
    encode_image: Callable[[torch.Tensor], torch.Tensor]
    encode_text: Callable[[torch.Tensor], torch.Tensor] | None
    tokenize: Callable[[list[str]], torch.Tensor] | None
    image_size: int
    context_length: int | None
    vocab_size: int | None
    description: dict


def _imagenet_preprocess(image_size: int):
    from torchvision import transforms as T

    return T.Compose(
        [
            T.Resize(image_size, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(image_size),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def _load_open_clip(spec: dict, device: torch.device, cache_dir: str | None) -> LoadedModel:
    import open_clip

    register_model_configs()
    arch = spec["arch"]
    if arch not in open_clip.list_models():
        raise ValueError(
            f"unknown open_clip architecture {arch!r}. Fix: use one of open_clip.list_models() "
            f"(e.g. ViT-B-32-quickgelu) or add a JSON config to {MODEL_CONFIGS}"
        )
    weights = spec["weights"]
    if weights == "pretrained":
        tag = spec["pretrained"]
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=tag, cache_dir=cache_dir)
        except RuntimeError as exc:
            msg = str(exc)
            if "Failed to download" in msg or "offline" in msg.lower() or "local cache" in msg:
                raise WeightsUnavailableError(
                    f"pretrained weights {arch}/{tag} are not available: {msg}\n"
                    + _OFFLINE_HELP.format(arch=arch, tag=tag, cache=cache_dir or "~/.cache/huggingface")
                ) from exc
            raise
        except ValueError as exc:  # unknown tag
            raise WeightsUnavailableError(
                f"open_clip has no pretrained tag {tag!r} for {arch}: {exc}. Fix: pick one of "
                f"{open_clip.list_pretrained_tags_by_model(arch)}"
            ) from exc
    else:
        torch.manual_seed(spec["seed"])
        overrides = {"embed_dim": spec["embed_dim"]} if spec.get("embed_dim") else {}
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None, **overrides)
        if weights == "checkpoint":
            state = torch.load(spec["checkpoint"], map_location="cpu", weights_only=True)
            state = state.get("model", state)
            model.load_state_dict(state)
    model.eval().to(device)
    image_size = model.visual.image_size
    image_size = image_size[0] if isinstance(image_size, (tuple, list)) else int(image_size)
    if spec["preprocess"] == "imagenet":
        preprocess = _imagenet_preprocess(image_size)
    tokenizer = open_clip.get_tokenizer(arch)
    return LoadedModel(
        module=model,
        preprocess=preprocess,
        encode_image=model.encode_image,
        encode_text=model.encode_text,
        tokenize=lambda texts: tokenizer(texts),
        image_size=image_size,
        context_length=int(model.context_length),
        vocab_size=int(model.vocab_size),
        description={"arch": arch, "pretrained": spec.get("pretrained") if weights == "pretrained" else None},
    )


def _load_resnet18(spec: dict, device: torch.device, cache_dir: str | None) -> LoadedModel:
    from torchvision.models import ResNet18_Weights, resnet18

    if spec["weights"] == "pretrained":
        if cache_dir:
            torch.hub.set_dir(cache_dir)
        try:
            model = resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
        except (OSError, RuntimeError) as exc:  # URLError is an OSError
            raise WeightsUnavailableError(
                f"ImageNet weights of ResNet-18 are not available ({exc}). Pre-download them with internet: "
                "python -c \"import torchvision; torchvision.models.resnet18(weights='IMAGENET1K_V1')\" "
                "(they land in $TORCH_HOME/hub/checkpoints) and copy that folder here."
            ) from exc
    else:
        torch.manual_seed(spec["seed"])
        model = resnet18(weights=None)
        if spec["weights"] == "checkpoint":
            model.load_state_dict(torch.load(spec["checkpoint"], map_location="cpu", weights_only=True))
    model.fc = nn.Identity()  # features before the final fc layer (512-d)
    model.eval().to(device)
    size = spec.get("image_size") or 224
    return LoadedModel(
        module=model,
        preprocess=_imagenet_preprocess(size),
        encode_image=model,
        encode_text=None,
        tokenize=None,
        image_size=size,
        context_length=None,
        vocab_size=None,
        description={"arch": "resnet18", "pretrained": "IMAGENET1K_V1" if spec["weights"] == "pretrained" else None},
    )


def load_model(spec: dict, device: str | torch.device = "cpu", cache_dir: str | None = None) -> LoadedModel:
    """Build the model a spec describes, in eval mode on ``device``.

    Raises
    ------
    WeightsUnavailableError
        Pretrained weights are neither cached nor downloadable; the message says how to pre-download.
    ValueError
        Unknown architecture or kind.
    """
    device = torch.device(device)
    if spec["kind"] == "open_clip":
        return _load_open_clip(spec, device, cache_dir)
    if spec["kind"] == "resnet18":
        return _load_resnet18(spec, device, cache_dir)
    raise ValueError(f"unknown model kind {spec['kind']!r}; known: open_clip, resnet18")
