from tests.conftest import GraphQLClient


async def test_city_is_the_root(gql: GraphQLClient) -> None:
    data = await gql("{ city { name code level parent { id } ancestors { id } } }")
    assert data["city"] == {
        "name": "遵义市",
        "code": "520300",
        "level": 1,
        "parent": None,
        "ancestors": [],
    }
