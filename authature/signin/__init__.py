"""The sign-in flow: from a validated authorization request to a code, through signatures."""

from authature.signin.flow import Outcome, PageModel, SignInFlow, SignInPageGone

__all__ = ["Outcome", "PageModel", "SignInFlow", "SignInPageGone"]
