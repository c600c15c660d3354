"""allauth's adapter, changed in one place: failed logins are counted per client address and account together."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal.ratelimit import get_ip


class AccountAdapter(DefaultAccountAdapter):
    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth counts failures per account alone, so five wrong passwords from anywhere locked the owner out for
        # five minutes. Per address and account, a stranger locks only themselves; the per-address limit
        # (ACCOUNT_RATE_LIMITS["login_failed"]) still slows one address trying many accounts.
        return f"{get_ip(request)}|{super()._get_login_attempts_cache_key(request, **credentials)}"
