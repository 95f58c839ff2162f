"""Catalog errors: a message, a machine-readable code and the HTTP status the API answers."""


class CatalogError(Exception):
    code = "INVALID_INPUT"
    status = 400

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidInput(CatalogError):
    code, status = "INVALID_INPUT", 400


class PackNotFound(CatalogError):
    code, status = "PACK_NOT_FOUND", 404


class StickerNotFound(CatalogError):
    code, status = "STICKER_NOT_FOUND", 404


class NotAllowed(CatalogError):
    code, status = "NOT_ALLOWED", 403


class Conflict(CatalogError):
    status = 409


class ModerationLocked(Conflict):
    """The owner tried to undo a staff decision (a sensitive mark, a hold on publishing)."""

    code = "MODERATION_LOCKED"


class PublisherReserved(CatalogError):
    """The publisher name is reserved for another creator."""

    code, status = "PUBLISHER_RESERVED", 400
