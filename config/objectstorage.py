"""The S3 backend of STORAGES["objects"] (SPEC §7), built from the OBJECT_STORAGE_* settings.

One function, so settings.py and the test suite (which points it at its own loopback server)
build the same backend. Signed URLs always point at the store itself: a SigV4 signature covers
the host, so `custom_domain` is never set here; CDN URLs are built by the catalog from
CDN_BASE_URL for the stickers that may go there.
"""


def s3_storage(
    *,
    bucket: str,
    endpoint_url: str,
    region: str,
    access_key: str,
    secret_key: str,
    path_style: bool,
    key_prefix: str,
    signed_url_ttl: int,
    timeout_seconds: float,
) -> dict:
    from botocore.config import Config

    addressing_style = "path" if path_style else "auto"
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,
            "region_name": region,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "addressing_style": addressing_style,
            "signature_version": "s3v4",
            "location": key_prefix,
            "querystring_auth": True,
            "querystring_expire": signed_url_ttl,
            "file_overwrite": True,
            "default_acl": None,
            # A client config replaces addressing_style/signature_version above, so it repeats
            # them; the timeouts keep a dead store from holding a request or a task for long.
            "client_config": Config(
                s3={"addressing_style": addressing_style},
                signature_version="s3v4",
                connect_timeout=min(timeout_seconds, 3.0),
                read_timeout=timeout_seconds,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        },
    }
