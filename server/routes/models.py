"""GET /v1/models and GET /v1/models/{id}."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..deps import ServerState, get_state
from ..errors import APIError
from ..protocol import ModelCard, ModelList

router = APIRouter()


def _cards(state: ServerState) -> list[ModelCard]:
    cards = []
    for spec in state.registry.served:
        engine = state.registry.engines.get(spec.id)
        ctx = engine.n_ctx if engine else None
        weights = spec.adapter or spec.path
        for name in [spec.id, *spec.aliases]:
            # as vLLM lists LoRA adapters: `root` is the weights file, `parent` the model it is served over
            cards.append(ModelCard(id=name, created=spec.created, path=str(weights), root=str(weights),
                                   parent=spec.parent, context_length=ctx,
                                   aliases=[a for a in [spec.id, *spec.aliases] if a != name]))
    return cards


@router.get("/v1/models", response_model=ModelList, response_model_exclude_none=True)
async def list_models(state: ServerState = Depends(get_state)):
    return ModelList(data=_cards(state))


@router.get("/v1/models/{model_id:path}", response_model=ModelCard, response_model_exclude_none=True)
async def get_model(model_id: str, state: ServerState = Depends(get_state)):
    for card in _cards(state):
        if card.id == model_id:
            return card
    raise APIError(404, f"The model '{model_id}' does not exist.", param="model", code="model_not_found")
