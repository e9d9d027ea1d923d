from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IfMatchDep, NowDep, SessionDep, require, set_etag, sort_dependency
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.models import DeliveryStatus, WebhookDelivery, WebhookEventType, WebhookSubscription
from app.schemas.common import PageOut
from app.schemas.webhook import (
    DeliveryRead,
    EventTypeRead,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.services.pagination import PageRequest
from app.services.webhooks import subscriptions as service
from app.services.webhooks.events import EVENT_DESCRIPTIONS

router = APIRouter(prefix="/webhooks", tags=["webhooks 事件推送"], responses=problem_responses(401, 403, 422))

Manager = Annotated[Principal, require("webhooks:manage")]
SubscriptionPage = Annotated[PageRequest, sort_dependency(service.SUBSCRIPTION_SORTS, default="created_at")]
DeliveryPage = Annotated[PageRequest, sort_dependency(service.DELIVERY_SORTS, default="-created_at")]


def _read(subscription: WebhookSubscription) -> WebhookRead:
    return WebhookRead.model_validate(subscription)


def _with_secret(subscription: WebhookSubscription, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**_read(subscription).model_dump(), secret=secret)


def _delivery(delivery: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead.model_validate(delivery)


@router.get("/event-types", response_model=list[EventTypeRead], summary="The event types one can subscribe to")
async def list_event_types(_actor: Manager) -> list[EventTypeRead]:
    return [EventTypeRead(type=t.value, description=EVENT_DESCRIPTIONS[t]) for t in WebhookEventType]


@router.get("", response_model=PageOut[WebhookRead], summary="List webhook subscriptions")
async def list_subscriptions(
    session: SessionDep,
    _actor: Manager,
    page: SubscriptionPage,
    is_active: bool | None = None,
    event_type: Annotated[WebhookEventType | None, Query(description="Subscribed to this type")] = None,
) -> PageOut[WebhookRead]:
    result = await service.list_subscriptions(
        session, service.SubscriptionFilter(is_active=is_active, event_type=event_type), page
    )
    return PageOut[WebhookRead](
        items=[_read(s) for s in result.items], total=result.total, limit=result.limit, offset=result.offset
    )


@router.post(
    "",
    response_model=WebhookWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to event types; the signing secret is in this response only",
    description="Each event is POSTed as JSON `{id, type, occurred_at, data}` with `Zhaoshang-Event`, "
    "`Zhaoshang-Delivery` (the same on every retry: deduplicate on it) and `Zhaoshang-Signature: t=<unix>,v1=<hex>`, "
    "the HMAC-SHA256 of `<t>.<raw body>` keyed with the secret. A 2xx answer is success; anything else is retried "
    "with exponential back-off and recorded in the delivery log.",
    responses=problem_responses(415),
)
async def create_subscription(
    data: WebhookCreate, response: Response, session: SessionDep, actor: Manager, current: NowDep
) -> WebhookWithSecret:
    subscription, secret = await service.create_subscription(session, actor, data, current)
    response.headers["Location"] = f"/api/v1/webhooks/{subscription.id}"
    set_etag(response, subscription.version)
    return _with_secret(subscription, secret)


@router.get(
    "/deliveries/{delivery_id:int}",
    response_model=DeliveryRead,
    summary="Read one delivery with its attempts",
    responses=problem_responses(404),
)
async def get_delivery(delivery_id: IdPath, session: SessionDep, _actor: Manager) -> DeliveryRead:
    return _delivery(await service.get_delivery(session, delivery_id))


@router.post(
    "/deliveries/{delivery_id:int}/redeliver",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again (due now, with a fresh budget of attempts)",
    responses=problem_responses(404),
)
async def redeliver(delivery_id: IdPath, session: SessionDep, actor: Manager, current: NowDep) -> DeliveryRead:
    return _delivery(await service.redeliver(session, actor, delivery_id, current))


@router.get(
    "/{subscription_id:int}",
    response_model=WebhookRead,
    summary="Read a subscription",
    responses=problem_responses(404),
)
async def get_subscription(
    subscription_id: IdPath, response: Response, session: SessionDep, _actor: Manager
) -> WebhookRead:
    subscription = await service.get_subscription(session, subscription_id)
    set_etag(response, subscription.version)
    return _read(subscription)


@router.patch(
    "/{subscription_id:int}",
    response_model=WebhookRead,
    summary="Change a subscription's URL, event types or description, or pause / resume it",
    responses=problem_responses(404, 412, 415, 428),
)
async def update_subscription(
    subscription_id: IdPath,
    data: WebhookUpdate,
    response: Response,
    session: SessionDep,
    actor: Manager,
    expected: IfMatchDep,
    current: NowDep,
) -> WebhookRead:
    subscription = await service.update_subscription(session, actor, subscription_id, data, expected, current)
    set_etag(response, subscription.version)
    return _read(subscription)


@router.delete(
    "/{subscription_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a subscription with its deliveries and their log",
    responses=problem_responses(404, 412, 428),
)
async def delete_subscription(
    subscription_id: IdPath, session: SessionDep, actor: Manager, expected: IfMatchDep
) -> Response:
    await service.delete_subscription(session, actor, subscription_id, expected)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id:int}/secret",
    response_model=WebhookWithSecret,
    summary="Rotate the signing secret; the new one is in this response only and signs everything sent from now on",
    responses=problem_responses(404, 412, 428),
)
async def rotate_secret(
    subscription_id: IdPath,
    response: Response,
    session: SessionDep,
    actor: Manager,
    expected: IfMatchDep,
    current: NowDep,
) -> WebhookWithSecret:
    subscription, secret = await service.rotate_secret(session, actor, subscription_id, expected, current)
    set_etag(response, subscription.version)
    return _with_secret(subscription, secret)


@router.post(
    "/{subscription_id:int}/ping",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a `ping` event to this subscription only, to test the receiver",
    responses=problem_responses(404, 409),
)
async def ping(subscription_id: IdPath, session: SessionDep, actor: Manager, current: NowDep) -> DeliveryRead:
    return _delivery(await service.ping(session, actor, subscription_id, current))


@router.get(
    "/{subscription_id:int}/deliveries",
    response_model=PageOut[DeliveryRead],
    summary="The delivery log of a subscription, newest first",
    responses=problem_responses(404),
)
async def list_deliveries(
    subscription_id: IdPath,
    session: SessionDep,
    _actor: Manager,
    page: DeliveryPage,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    event_type: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None,
) -> PageOut[DeliveryRead]:
    flt = service.DeliveryFilter(subscription_id=subscription_id, status=status_, event_type=event_type)
    result = await service.list_deliveries(session, flt, page)
    return PageOut[DeliveryRead](
        items=[_delivery(d) for d in result.items], total=result.total, limit=result.limit, offset=result.offset
    )
