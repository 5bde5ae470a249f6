"""The login page people see at ``/auth/authorize``: a plain server-rendered form in zh-CN
(default) or English, with no script, so it works wherever the app does."""

from __future__ import annotations

from html import escape

LANGUAGES = ("zh-CN", "en")

TEXTS = {
    "zh-CN": {
        "title": "登录 · 医联",
        "heading": "医联 检查检验共享平台",
        "lead": "请使用医联体分配的账号登录",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
        "other_language": "English",
        "wrong": "用户名或密码错误，请重新输入。",
        "missing": "请输入用户名和密码。",
        "wait": "登录失败次数过多，请 {seconds} 秒后再试。",
        "expired": "登录页面已失效（超时或在其他窗口打开过），请返回应用重新登录。",
        "bad_request": "登录请求无效：{reason}",
        "error_heading": "无法登录",
    },
    "en": {
        "title": "Sign in · Yilian",
        "heading": "Yilian examination-data platform",
        "lead": "Sign in with the account your medical alliance gave you",
        "username": "User name",
        "password": "Password",
        "submit": "Sign in",
        "other_language": "中文",
        "wrong": "Wrong user name or password. Please try again.",
        "missing": "Please enter your user name and password.",
        "wait": "Too many failed attempts. Please try again in {seconds} seconds.",
        "expired": "This sign-in page has expired (or was used in another window). "
        "Please go back to the app and sign in again.",
        "bad_request": "The sign-in request is not valid: {reason}",
        "error_heading": "Cannot sign in",
    },
}

_STYLE = """
body{margin:0;font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;
background:#f0f2f5;color:#1f2329}
main{max-width:380px;margin:12vh auto 0;background:#fff;border-radius:8px;padding:32px 36px;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:22px;margin:0 0 6px;color:#1d4f91}
p.lead{margin:0 0 24px;color:#4e5969;font-size:14px}
label{display:block;font-size:14px;margin:16px 0 6px}
input{box-sizing:border-box;width:100%;padding:9px 11px;font-size:15px;border:1px solid #8a919f;
border-radius:4px}
input:focus{outline:2px solid #1d4f91;outline-offset:1px}
button{margin-top:24px;width:100%;padding:10px;font-size:16px;color:#fff;background:#1d4f91;
border:0;border-radius:4px;cursor:pointer}
.alert{margin:0 0 8px;padding:10px 12px;border-radius:4px;background:#fdecec;color:#a8071a;
font-size:14px}
nav{margin-top:20px;text-align:right;font-size:14px}
a{color:#1d4f91}
"""


def pick_language(ui_locales: str) -> str:
    """The first of the OIDC ``ui_locales`` we speak; zh-CN, the platform's language, else."""
    for tag in ui_locales.split():
        if tag.lower().startswith("en"):
            return "en"
        if tag.lower().startswith("zh"):
            return "zh-CN"
    return "zh-CN"


def _page(lang: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(TEXTS[lang]['title'])}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def login_form(
    lang: str, *, ticket: str, switch_url: str, username: str = "", message: str = ""
) -> str:
    text = TEXTS[lang]
    alert = (
        f'<p class="alert" role="alert" id="login-error">{escape(message)}</p>' if message else ""
    )
    described = ' aria-describedby="login-error"' if message else ""
    return _page(
        lang,
        f"<h1>{escape(text['heading'])}</h1>"
        f'<p class="lead">{escape(text["lead"])}</p>{alert}'
        '<form method="post" action="/auth/authorize" autocomplete="on">'
        f'<input type="hidden" name="request" value="{escape(ticket)}">'
        f'<label for="username">{escape(text["username"])}</label>'
        f'<input id="username" name="username" value="{escape(username)}" required'
        f' autocomplete="username" autocapitalize="none" spellcheck="false"{described}>'
        f'<label for="password">{escape(text["password"])}</label>'
        f'<input id="password" name="password" type="password" required'
        f' autocomplete="current-password"{described}>'
        f'<button type="submit">{escape(text["submit"])}</button></form>'
        f'<nav><a href="{escape(switch_url)}" lang="{"en" if lang == "zh-CN" else "zh-CN"}">'
        f"{escape(text['other_language'])}</a></nav>",
    )


def error_page(lang: str, message: str) -> str:
    text = TEXTS[lang]
    return _page(
        lang,
        f"<h1>{escape(text['error_heading'])}</h1>"
        f'<p class="alert" role="alert">{escape(message)}</p>',
    )
