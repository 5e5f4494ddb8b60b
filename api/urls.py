"""``/api/v2/``: the resources in Sell's paths (no trailing slash), the OpenAPI schema and the
reference page. Every view is exempt from the login redirect: a missing or bad token is a 401
in the error envelope."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _
from rest_framework.routers import SimpleRouter

from api import views
from api.conversions import LeadConversionViewSet
from api.docs import docs_view, schema_view


def unknown_path(request: HttpRequest, *args: object) -> HttpResponse:
    """Any other path under /api/v2/: a 404 in the error envelope, not an HTML page."""
    from rest_framework.renderers import JSONRenderer

    from api.errors import error_response

    response = error_response(
        404, [{"code": "not_found", "message": _("There is no such API endpoint.")}]
    )
    body = JSONRenderer().render(response.data)
    return HttpResponse(body, status=404, content_type="application/json")


router = SimpleRouter(trailing_slash=False)
router.register("leads", views.LeadViewSet, basename="lead")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("deals", views.DealViewSet, basename="deal")
router.register(
    r"deals/(?P<deal_id>[^/]+)/associated_contacts",
    views.AssociatedContactViewSet,
    basename="associated-contact",
)
router.register("notes", views.NoteViewSet, basename="note")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("tags", views.TagViewSet, basename="tag")
router.register("lead_sources", views.SourceViewSet, basename="lead-source")
router.register("deal_sources", views.DealSourceViewSet, basename="deal-source")
router.register("loss_reasons", views.LossReasonViewSet, basename="loss-reason")
router.register(
    "deal_unqualified_reasons",
    views.DealUnqualifiedReasonViewSet,
    basename="deal-unqualified-reason",
)
router.register(
    "lead_unqualified_reasons",
    views.LeadUnqualifiedReasonViewSet,
    basename="lead-unqualified-reason",
)
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("stages", views.StageViewSet, basename="stage")
router.register("users", views.UserViewSet, basename="user")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("lead_conversions", LeadConversionViewSet, basename="lead-conversion")

app_name = "api"
urlpatterns = [
    path("schema", login_not_required(schema_view), name="schema"),
    path("docs", docs_view, name="docs"),
    *router.urls,
    re_path(r"^.*$", login_not_required(unknown_path)),
]
for pattern in router.urls:
    login_not_required(cast(Any, pattern.callback))
