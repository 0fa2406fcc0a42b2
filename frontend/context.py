from django.conf import settings

from trading.lifecycle import LotStatus
from trading.permissions import role_of


def roles(request):
    """The caller's role, the site's name, and the lot statuses by name (templates compare
    ``lot.status == LotStatus.OPENED``, never a literal)."""
    user = getattr(request, "user", None)
    return {"role": role_of(user), "site_name": settings.SUNLIGHT_SITE_NAME, "LotStatus": LotStatus}
