"""Flask extensions, created unbound and attached in the app factory."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
