// The configuration library in one include: the model the daemon runs on, loading and
// validation, the credential cache and `--check-config`.
#pragma once
#include "config/check_config.hpp"
#include "config/credential_cache.hpp"
#include "config/duration.hpp"
#include "config/loader.hpp"
#include "config/model.hpp"
#include "config/problem.hpp"
#include "config/secret_value.hpp"
