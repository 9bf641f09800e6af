"""Flask extensions, created unbound and attached in the app factory."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .points.db import Base

db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage comes from the configuration (RATELIMIT_STORAGE_URI, set by the app factory from
# POINTSAPP_RATELIMIT_STORAGE_URL, else a SQLite file every worker shares).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
