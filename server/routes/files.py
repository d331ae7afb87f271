"""The Files API (``/v1/files``): uploads kept in the knowledge folder, for vector stores to index."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from ..errors import APIError
from ..kb.catalog import Catalog
from ..kb.service import KnowledgeBase

router = APIRouter()

PURPOSES = {"assistants", "user_data", "batch", "fine-tune", "vision", "evals"}


def get_kb(request: Request) -> KnowledgeBase:
    return request.app.state.kb


def file_or_404(catalog: Catalog, file_id: str):
    item = catalog.get_file(file_id)
    if item is None:
        raise APIError(404, f"No such File object: {file_id}", param="file_id", code="not_found")
    return item


@router.post("/v1/files")
async def create_file(request: Request):
    kb = get_kb(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise APIError(400, "Upload a file as multipart/form-data with the fields 'file' and 'purpose'.",
                       code="invalid_request")
    form = await request.form()
    upload, purpose = form.get("file"), form.get("purpose")
    if not isinstance(upload, UploadFile):
        raise APIError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    if not isinstance(purpose, str) or not purpose:
        raise APIError(400, "Missing required parameter: 'purpose'.", param="purpose",
                       code="missing_required_parameter")
    if purpose not in PURPOSES:
        raise APIError(400, f"Invalid value for 'purpose': '{purpose}'; expected one of {sorted(PURPOSES)}.",
                       param="purpose", code="invalid_value")
    data = await upload.read()
    item = kb.catalog.save_file(upload.filename or "upload", data, purpose)
    return item.openai()


@router.get("/v1/files")
async def list_files(request: Request):
    items = [f.openai() for f in get_kb(request).catalog.list_files()]
    return {"object": "list", "data": items, "has_more": False,
            "first_id": items[0]["id"] if items else None, "last_id": items[-1]["id"] if items else None}


@router.get("/v1/files/{file_id}")
async def retrieve_file(request: Request, file_id: str):
    return file_or_404(get_kb(request).catalog, file_id).openai()


@router.get("/v1/files/{file_id}/content")
async def file_content(request: Request, file_id: str):
    catalog = get_kb(request).catalog
    file_or_404(catalog, file_id)
    return Response(catalog.file_bytes(file_id), media_type="application/octet-stream")


@router.delete("/v1/files/{file_id}")
async def delete_file(request: Request, file_id: str):
    catalog = get_kb(request).catalog
    file_or_404(catalog, file_id)
    catalog.delete_file(file_id)
    return {"id": file_id, "object": "file", "deleted": True}
