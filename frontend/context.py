from django.conf import settings

from trading.permissions import role_of


def roles(request):
    user = getattr(request, "user", None)
    return {"role": role_of(user), "site_name": settings.SUNLIGHT_SITE_NAME}
