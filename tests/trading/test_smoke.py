import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_world_and_publish(world, clock):
    project = factories.make_project(world, publish=True)
    lot = project.lots.get()
    assert lot.status == "published"
    assert project.notices.count() == 1
