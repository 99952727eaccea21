// The socket options Node.js does not expose. One function: SO_RCVLOWAT on a TCP socket, so that
// the kernel wakes the reader only once that many bytes are waiting (or the peer closed).
#include <errno.h>
#include <node_api.h>
#include <sys/socket.h>

// setReceiveLowWater(fd, bytes): 0 on success, else the errno of setsockopt.
static napi_value SetReceiveLowWater(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  int32_t bytes = 1;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "setReceiveLowWater(fd, bytes) takes two integers");
    return NULL;
  }
  int status = setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0 ? 0 : errno;
  napi_create_int32(env, status, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "setReceiveLowWater", NAPI_AUTO_LENGTH, SetReceiveLowWater, NULL, &fn);
  napi_set_named_property(env, exports, "setReceiveLowWater", fn);
  return exports;
}
