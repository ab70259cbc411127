import pytest

from postcheck.sources.x.token import js_number_to_radix, syndication_token

# From yt-dlp PR #12107 (generated with Vercel's JavaScript) and re-computed with node
# (shared/reference/README.md §1.2).
VECTORS = {
    "1874097816571961839": "4jjngwkifa",
    "1674700676612386816": "42586mwa3uv",
    "1877747914073620506": "4jv4aahw36n",
    "1876710769913450647": "4jruzjz5lux",
    "1346554693649113090": "39ibqxei7mo",
    "1641086480675225601": "3z7miaszni8",
    "1641895049427550208": "3za5ye2w3ov",
    "1629262255744503809": "3y6h7x4gn61",
    "1848831595014459513": "4hc9xdp8g2s",
    "1611077073803841538": "3wlcivlg3y4",
    "1260294888811347969": "31zbzs3nvej",
    "1044502590266978309": "2j5egk1oitn",
    "20": "6dq1a2xwd93",
}


@pytest.mark.parametrize(("tweet_id", "token"), VECTORS.items())
def test_token_matches_javascript(tweet_id, token):
    assert syndication_token(tweet_id) == token


@pytest.mark.parametrize(
    ("value", "radix", "expected"),
    [
        (0.5, 2, "0.1"),
        (255.0, 16, "ff"),
        (0.1, 36, "0.3lllllllllm"),
        (-10.25, 2, "-1010.01"),
        (35.0, 36, "z"),
    ],
)
def test_js_radix_formatting(value, radix, expected):
    # Expected strings are what node prints for (value).toString(radix).
    assert js_number_to_radix(value, radix) == expected
