export DATABASE_URL=postgres://postgres@127.0.0.1:5432/sl_secrecy
export REDIS_URL=redis://127.0.0.1:6379/1
export SUNLIGHT_VAR_DIR=/tmp/sl-var-secrecy
