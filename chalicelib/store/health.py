"""Reachability of the storage the app depends on (for `/healthz`)."""

from __future__ import annotations

from typing import Any

from chalicelib.store.tables import TABLES


class StorageHealth:
    def __init__(self, dynamodb: Any, s3: Any, table_name: Any, bucket: str) -> None:
        self._dynamodb = dynamodb
        self._s3 = s3
        self._table_name = table_name
        self._bucket = bucket

    def check(self) -> dict[str, str]:
        """One cheap data-plane read per table and a HEAD on the bucket; 'ok' or an error code."""
        results: dict[str, str] = {}
        for table in TABLES:
            key = {table.hash_key: {"S": "healthz"}}
            if table.range_key:
                key[table.range_key] = {"S": "healthz"}
            results[f"table:{table.logical}"] = self._probe(
                lambda t=table, k=key: self._dynamodb.get_item(
                    TableName=self._table_name(t.logical), Key=k
                )
            )
        results["bucket"] = self._probe(lambda: self._s3.head_bucket(Bucket=self._bucket))
        return results

    @staticmethod
    def _probe(call: Any) -> str:
        try:
            call()
        except Exception as exc:  # any failure means "not reachable"; the name is enough
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            return str(code or type(exc).__name__)
        return "ok"
