import base64
import io
import os
from pathlib import Path

import pytest
from gwsync.config import Answers, resolve
from gwsync.connector import Setting
from gwsync.errors import ConfigError

SETTINGS = (
    Setting("url", "SHOP_URL", "Shop URL", kind="url"),
    Setting("login", "SHOP_LOGIN", "Login", credential=True),
    Setting("password", "SHOP_PASSWORD", "Password", secret=True, credential=True),
    Setting("pages", "SHOP_PAGES", "Pages", kind="int", required=False, default="3"),
)
KEY = base64.b64encode(os.urandom(32)).decode()  # generated: no key is written in the tree
GUID = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"


class Pipe(io.StringIO):
    def isatty(self):
        return False


def test_piped_answers_come_in_the_documented_order(capsys):
    stdin = Pipe(f"{KEY}\n{GUID}\nshop-login\nshop-pass\n")
    env = {"GATEWAY_URL": "https://gateway.example", "SHOP_URL": "https://shop.example/"}
    got = resolve(SETTINGS, {}, {}, Answers(stdin), environ=env)
    assert (got["signing_key"], got["shop_guid"], got["login"], got["password"]) == (
        KEY, GUID, "shop-login", "shop-pass")
    assert got["url"] == "https://shop.example" and got["pages"] == 3
    assert "shop-pass" not in capsys.readouterr().err


def test_flag_beats_env_beats_file():
    env = {"SHOP_URL": "https://env.example", "SHOP_LOGIN": "env-login", "SHOP_PASSWORD": "p" * 8,
           "GATEWAY_URL": "sandbox"}
    got = resolve(SETTINGS, {"url": "https://flag.example"}, {"login": "file-login", "pages": 9},
                  Answers(Pipe("")), environ=env)
    assert got["url"] == "https://flag.example" and got["login"] == "env-login" and got["pages"] == 9


def test_missing_value_with_nothing_to_answer_names_the_variable():
    with pytest.raises(ConfigError, match="SHOP_LOGIN"):
        resolve(SETTINGS, {}, {}, Answers(Pipe("")), environ={"GATEWAY_URL": "sandbox",
                                                              "SHOP_URL": "https://s.example"})


@pytest.mark.parametrize("env, name", [
    ({"GATEWAY_URL": "ftp://x.example"}, "GATEWAY_URL"),
    ({"SHOP_URL": "shop.example"}, "SHOP_URL"),
    ({"SHOP_PAGES": "many"}, "SHOP_PAGES"),
])
def test_bad_values_name_the_setting(env, name):
    base = {"GATEWAY_URL": "sandbox", "SHOP_URL": "https://s.example", "SHOP_LOGIN": "l",
            "SHOP_PASSWORD": "secret-value"}
    with pytest.raises(ConfigError, match=name):
        resolve(SETTINGS, {}, {}, Answers(Pipe("")), environ={**base, **env})


def test_dry_run_without_gateway_uses_the_embedded_sandbox():
    env = {"SHOP_URL": "https://s.example", "SHOP_LOGIN": "l", "SHOP_PASSWORD": "secret-value"}
    got = resolve(SETTINGS, {}, {}, Answers(Pipe("")), dry_run=True, environ=env)
    assert got["gateway_url"] == "sandbox" and got["signing_key"] is None


def test_unreadable_config_file_is_a_config_error(tmp_path: Path):
    from gwsync.config import load_config_file

    bad = tmp_path / "c.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config_file(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config_file(tmp_path / "missing.toml")


def test_stdin_that_cannot_answer_is_not_prompted(tmp_path, capsys):
    with open("/dev/null") as devnull:
        answers = Answers(devnull)
        with pytest.raises(ConfigError) as err:
            resolve(SETTINGS, {}, {}, answers, environ={"GATEWAY_URL": "https://gw.example"})
    assert "GATEWAY_SIGNING_KEY, GATEWAY_SHOP_GUID, SHOP_LOGIN, SHOP_PASSWORD, SHOP_URL" in str(err.value)
    assert capsys.readouterr().err == ""  # cron: no prompt text on stderr


def test_prompts_stop_at_the_end_of_piped_input(capsys):
    with pytest.raises(ConfigError, match="SHOP_LOGIN, SHOP_PASSWORD"):
        resolve(SETTINGS, {}, {}, Answers(Pipe(f"{KEY}\n{GUID}\n")),
                environ={"GATEWAY_URL": "https://gw.example", "SHOP_URL": "https://s.example"})
    assert capsys.readouterr().err.count("(SHOP_") == 1  # asked once, then input was over


def test_a_setting_needed_only_in_some_cases_is_asked_only_then():
    """A database password is asked for only when the URL names a user without one."""
    settings = (
        Setting("db_url", "DB_URL", "Database URL", secret=True, credential=True),
        Setting("db_password", "DB_PASSWORD", "Database password", secret=True, credential=True,
                required=False, required_when=lambda values: "@" in values.get("db_url", "")
                and ":" not in values["db_url"].split("://", 1)[-1].split("@", 1)[0]),
    )
    env = {"GATEWAY_URL": "https://gateway.example"}
    asked = resolve(settings, {}, {}, Answers(Pipe(f"{KEY}\n{GUID}\ndb://reader@host/x\nsecret-pass\n")),
                    environ=env)
    assert (asked["db_url"], asked["db_password"]) == ("db://reader@host/x", "secret-pass")
    not_asked = resolve(settings, {}, {}, Answers(Pipe(f"{KEY}\n{GUID}\ndb://reader:pw@host/x\nleft-over\n")),
                        environ=env)
    assert not_asked["db_password"] is None
    with pytest.raises(ConfigError, match="DB_PASSWORD"):
        resolve(settings, {}, {}, Answers(Pipe("")), environ={**env, "GATEWAY_SIGNING_KEY": KEY,
                                                             "GATEWAY_SHOP_GUID": GUID,
                                                             "DB_URL": "db://reader@host/x"})


FOLLOW_UP = (
    Setting("token", "SHOP_TOKEN", "Access token", secret=True, credential=True),
    Setting("signed", "SHOP_SIGNED", "Does the shop need signed requests? (yes/no)", credential=True,
            required=False, ask_if="token"),
    Setting("key", "SHOP_KEY", "Consumer key", credential=True, required=False, ask_if="signed"),
    Setting("secret", "SHOP_SECRET", "Consumer secret", secret=True, credential=True, required=False,
            ask_if="signed"),
)
SANDBOX_ENV = {"GATEWAY_URL": "sandbox"}


def test_follow_up_questions_are_asked_only_after_a_yes():
    got = resolve(FOLLOW_UP, {}, {}, Answers(Pipe("tok-1\nyes\nck-1\ncs-1\n")), environ=SANDBOX_ENV)
    assert (got["token"], got["signed"], got["key"], got["secret"]) == ("tok-1", "yes", "ck-1", "cs-1")
    got = resolve(FOLLOW_UP, {}, {}, Answers(Pipe("tok-1\nno\nck-1\n")), environ=SANDBOX_ENV)
    assert (got["token"], got["signed"], got["key"], got["secret"]) == ("tok-1", "no", None, None)


def test_a_follow_up_question_is_not_asked_when_its_answers_are_given(capsys):
    env = {**SANDBOX_ENV, "SHOP_KEY": "ck-env", "SHOP_SECRET": "cs-env"}
    got = resolve(FOLLOW_UP, {}, {}, Answers(Pipe("tok-1\nck-1\n")), environ=env)
    assert (got["signed"], got["key"], got["secret"]) == (None, "ck-env", "cs-env")
    assert "signed requests" not in capsys.readouterr().err
