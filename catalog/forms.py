"""Forms of the web pages: they parse the HTML form; the services (catalog.services.packs)
validate, so a page and the API refuse the same input with the same message."""

from django import forms

from catalog.models import StickerPack


class PackForm(forms.Form):
    name = forms.CharField(max_length=120)
    publisher = forms.CharField(max_length=120, required=False, help_text="Shown on the pack. Default: your username.")
    description = forms.CharField(max_length=1024, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(required=False, help_text="Comma-separated, up to 8 (for example: cats, cute).")
    visibility = forms.ChoiceField(
        choices=StickerPack.Visibility.choices,
        initial=StickerPack.Visibility.PUBLIC,
        help_text="Public packs are listed once published; unlisted ones only by their link.",
    )
    is_sensitive = forms.BooleanField(
        required=False, label="Sensitive content (hidden from visitors who are not logged in)"
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @classmethod
    def for_pack(cls, pack: StickerPack) -> "PackForm":
        """An edit form filled from the pack."""
        return cls(
            initial={
                "name": pack.name,
                "publisher": pack.publisher,
                "description": pack.description,
                "tags": ", ".join(str(t) for t in pack.tags or []),
                "visibility": pack.visibility,
                "is_sensitive": pack.is_sensitive,
            }
        )

    def service_data(self) -> dict:
        """The cleaned fields as catalog.services.packs expects them (tags as given: it cleans them)."""
        return {field: self.cleaned_data[field] for field in self.fields}
