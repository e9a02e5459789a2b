// The JSON model is shared with the engines; Cache's users see it as part of Cache.
@_exported import TollgateJSON
