"""manage.py flags list|set|enable|disable|check — drive feature flags from a shell."""

import argparse

from django.core.management.base import BaseCommand, CommandError

from flags import services
from flags.models import FeatureFlag


def percent(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be an integer 0..100, got {value!r}") from exc
    if not 0 <= number <= 100:
        raise argparse.ArgumentTypeError(f"must be within 0..100, got {number}")
    return number


class Command(BaseCommand):
    help = "List, change and check feature flags (every change is audited)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        sub.add_parser("list", help="show every flag")
        set_parser = sub.add_parser("set", help="change a flag")
        set_parser.add_argument("name")
        state = set_parser.add_mutually_exclusive_group()
        state.add_argument("--enabled", dest="enabled", action="store_true", default=None)
        state.add_argument("--disabled", dest="enabled", action="store_false")
        set_parser.add_argument("--percent", type=percent)
        set_parser.add_argument("--description")
        set_parser.add_argument("--create", action="store_true", help="create the flag if it does not exist")
        for action, text in [("enable", "turn on at 100%"), ("disable", "emergency disable: off and 0%")]:
            sub.add_parser(action, help=text).add_argument("name")
        check = sub.add_parser("check", help="print on or off for a subject")
        check.add_argument("name")
        check.add_argument("--subject", default="", help="subject key (viewer, aggregate, owner id...)")

    def handle(self, *args, action: str, **options):
        try:
            if action == "list":
                self._list()
            elif action == "set":
                self._set(options)
            elif action == "enable":
                services.flag_set(name=options["name"], is_enabled=True, rollout_percent=100, source="cli")
                self.stdout.write(f"{options['name']}: enabled at 100%")
            elif action == "disable":
                services.flag_set(name=options["name"], is_enabled=False, rollout_percent=0, source="cli")
                self.stdout.write(f"{options['name']}: disabled (0%)")
            elif action == "check":
                result = services.is_enabled(options["name"], subject_key=options["subject"])
                self.stdout.write("on" if result else "off")
        except services.FlagError as exc:
            raise CommandError(str(exc)) from exc

    def _list(self) -> None:
        flags = FeatureFlag.objects.select_related("updated_by").order_by("name")
        for flag in flags:
            state = "on " if flag.is_enabled else "off"
            who = flag.updated_by.get_username() if flag.updated_by else "-"
            self.stdout.write(
                f"{flag.name:<40} {state} {flag.rollout_percent:>3}%  {flag.updated_at:%Y-%m-%d %H:%M} {who}"
            )

    def _set(self, options) -> None:
        if options["enabled"] is None and options["percent"] is None and options["description"] is None:
            raise CommandError("nothing to change: give --enabled/--disabled, --percent or --description")
        flag = services.flag_set(
            name=options["name"],
            is_enabled=options["enabled"],
            rollout_percent=options["percent"],
            description=options["description"],
            source="cli",
            create=options["create"],
        )
        self.stdout.write(f"{flag.name}: {'on' if flag.is_enabled else 'off'} at {flag.rollout_percent}%")
