"""Blobs as objects in an S3-compatible bucket: multipart uploads, ranged GETs, boto3 in threads.

An object exists only once its upload completes (CompleteMultipartUpload, or one PutObject for a
blob smaller than a part), so a failed write never shows under its key.
"""

from collections.abc import AsyncIterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from files_service.storage.base import (
    READ_CHUNK_BYTES,
    BlobNotFound,
    BlobWriter,
    check_key,
    run_blocking,
)

_MISSING = {"404", "NoSuchKey", "NotFound"}


def build_client(
    *,
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    addressing_style: str,
) -> Any:
    """One thread-safe client per process; unset credentials fall back to boto3's own chain."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )


def _is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING


class S3Storage:
    """Objects named by key in one bucket (created by the operator, not by the service)."""

    def __init__(self, *, client: Any, bucket: str, part_size: int) -> None:
        self._client = client
        self._bucket = bucket
        self._part_size = part_size

    async def open_writer(self, key: str) -> BlobWriter:
        return S3BlobWriter(
            client=self._client, bucket=self._bucket, key=check_key(key), part_size=self._part_size
        )

    async def read(self, key: str, *, start: int, stop: int) -> AsyncIterator[bytes]:
        check_key(key)
        if stop <= start:
            # An empty range cannot be asked of S3; the blob must still exist.
            if not await self.exists(key):
                raise BlobNotFound(key)
            return _nothing()
        try:
            response = await run_blocking(
                self._client.get_object,
                Bucket=self._bucket,
                Key=key,
                Range=f"bytes={start}-{stop - 1}",
            )
        except ClientError as error:
            if _is_missing(error):
                raise BlobNotFound(key) from None
            raise
        return _chunks(response["Body"])

    async def delete(self, key: str) -> None:
        await run_blocking(self._client.delete_object, Bucket=self._bucket, Key=check_key(key))

    async def exists(self, key: str) -> bool:
        try:
            await run_blocking(self._client.head_object, Bucket=self._bucket, Key=check_key(key))
        except ClientError as error:
            if _is_missing(error):
                return False
            raise
        return True

    async def keys(self) -> list[str]:
        def walk() -> list[str]:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket)
            return sorted(str(item["Key"]) for page in pages for item in page.get("Contents", []))

        return await run_blocking(walk)

    async def pending(self) -> list[str]:
        def walk() -> list[str]:
            pages = self._client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self._bucket
            )
            return sorted(str(item["Key"]) for page in pages for item in page.get("Uploads", []))

        return await run_blocking(walk)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


async def _chunks(body: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := await run_blocking(body.read, READ_CHUNK_BYTES):
            yield bytes(chunk)
    finally:
        body.close()


class S3BlobWriter:
    """Parts of `part_size` go up as they fill; at most one part is held in memory."""

    def __init__(self, *, client: Any, bucket: str, key: str, part_size: int) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._part_size = part_size
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    async def write(self, chunk: bytes) -> None:
        self._buffer.append(chunk)
        self._buffered += len(chunk)
        if self._buffered >= self._part_size:
            await self._upload_part()

    async def _upload_part(self) -> None:
        body = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        if self._upload_id is None:
            created = await run_blocking(
                self._client.create_multipart_upload, Bucket=self._bucket, Key=self._key
            )
            self._upload_id = str(created["UploadId"])
        number = len(self._parts) + 1
        uploaded = await run_blocking(
            self._client.upload_part,
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        self._parts.append({"PartNumber": number, "ETag": uploaded["ETag"]})

    async def commit(self) -> None:
        if self._upload_id is None:
            body = b"".join(self._buffer)
            self._buffer, self._buffered = [], 0
            await run_blocking(
                self._client.put_object, Bucket=self._bucket, Key=self._key, Body=body
            )
        else:
            if self._buffered:
                await self._upload_part()  # the last part may be smaller than the minimum
            await run_blocking(
                self._client.complete_multipart_upload,
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._done = True

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer, self._buffered = [], 0
        if self._upload_id is not None:
            await run_blocking(
                self._client.abort_multipart_upload,
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
            )
