"""Expired flow state is deleted (purge_expired_flow_state), and only what can no longer be used."""
from datetime import timedelta

from models import AuthorizationCode, PendingAuthorization, PushedRequest, RevokedToken, db
from models.authorization import CODE_REPLAY_MEMORY, purge_expired_flow_state
from models.timeutil import utcnow
from tests.oauth.flow import authorize_params, authorize_url, get_code, make_user, make_web_app


def count(model):
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def test_purges_expired_rows_and_keeps_redeemed_codes_long_enough_to_spot_a_replay(client, app):
    make_user(app)
    client_id, secret = make_web_app(app)
    get_code(client, authorize_params(client_id))
    client.get(authorize_url(authorize_params(client_id)))  # a pending request nobody finishes
    client.post("/oauth/par", data={k: v for k, v in authorize_params(client_id).items() if k != "client_id"},
                auth=(client_id, secret))
    with app.app_context():
        db.session.add(RevokedToken(jti="old", expires_at=utcnow() - timedelta(seconds=1)))
        db.session.add(RevokedToken(jti="live", expires_at=utcnow() + timedelta(hours=1)))
        past = utcnow() - timedelta(seconds=1)
        for model in (PendingAuthorization, PushedRequest, AuthorizationCode):
            db.session.execute(db.update(model).values(expires_at=past))
        db.session.commit()
        purge_expired_flow_state()
        db.session.commit()
        assert (count(PendingAuthorization), count(PushedRequest), count(AuthorizationCode)) == (0, 0, 1)
        assert db.session.execute(db.select(RevokedToken.jti)).scalars().all() == ["live"]
        db.session.execute(db.update(AuthorizationCode).values(expires_at=past - CODE_REPLAY_MEMORY))
        purge_expired_flow_state()
        db.session.commit()
        assert count(AuthorizationCode) == 0
