//! Expressions in the state file: `${{ expr }}` inside string fields, and `condition`.
//!
//! Evaluated with rhai in a sandbox: no modules, no file or network access, no printing, and
//! limits on operations, call depth and sizes, so a state file cannot hang or exhaust helmfire.
//! Scope: `env` (reading an unset variable is an error), `env_or(name, default)`,
//! `environment.name`, `environment.values`, and `release.name`/`.namespace`/`.labels`.

use rhai::{Dynamic, Engine, EvalAltResult, Position, Scope};

/// An expression failure, located inside the expression text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub message: String,
    /// 1-based line and column within the expression, when rhai knows them.
    pub position: Option<(usize, usize)>,
}

/// An interpolation failure: the error and the byte offset of its `${{` in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub error: ExprError,
    /// Which `${{` of the string (0-based) failed.
    pub occurrence: usize,
}

/// The process environment, as rhai's `env`.
#[derive(Clone)]
struct EnvVars;

pub struct Expressions {
    engine: Engine,
}

/// Variables visible to an expression.
#[derive(Clone, Default)]
pub struct Variables {
    pub environment: Dynamic,
    pub release: Option<Dynamic>,
}

impl Default for Expressions {
    fn default() -> Self {
        Self::new()
    }
}

impl Expressions {
    pub fn new() -> Expressions {
        let mut engine = Engine::new();
        engine.set_max_operations(200_000);
        engine.set_max_call_levels(32);
        engine.set_max_expr_depths(64, 32);
        engine.set_max_string_size(1 << 20);
        engine.set_max_array_size(10_000);
        engine.set_max_map_size(10_000);
        engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
        engine.disable_symbol("eval");
        engine.disable_symbol("import");
        // The library never prints: swallow rhai's print/debug.
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        engine.register_type_with_name::<EnvVars>("env");
        engine.register_indexer_get(|_: &mut EnvVars, name: &str| -> Result<String, Box<EvalAltResult>> {
            std::env::var(name).map_err(|_| {
                format!(
                    "environment variable `{name}` is not set (use env_or(\"{name}\", \"default\") for an optional one)"
                )
                .into()
            })
        });
        engine.register_fn("env_or", |name: &str, default: &str| {
            std::env::var(name).unwrap_or_else(|_| default.to_string())
        });
        Expressions { engine }
    }

    fn scope(variables: &Variables) -> Scope<'static> {
        let mut scope = Scope::new();
        scope.push_constant("env", EnvVars);
        scope.push_constant_dynamic("environment", variables.environment.clone());
        if let Some(release) = &variables.release {
            scope.push_constant_dynamic("release", release.clone());
        }
        scope
    }

    /// Evaluates one expression.
    pub fn eval(&self, expression: &str, variables: &Variables) -> Result<Dynamic, ExprError> {
        let mut scope = Self::scope(variables);
        self.engine
            .eval_expression_with_scope::<Dynamic>(&mut scope, expression)
            .map_err(|error| {
                let position = position_of(error.position());
                let message = match *error {
                    EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
                    EvalAltResult::ErrorVariableNotFound(name, _) => {
                        format!("unknown variable `{name}` (expressions see `env`, `environment` and `release`)")
                    }
                    EvalAltResult::ErrorDotExpr(message, _) if message.contains("for type '()'") => {
                        let property = message.split('\'').nth(1).unwrap_or("?");
                        format!("cannot read `{property}`: the value before it is not set (a missing key?)")
                    }
                    other => strip_position(&other.to_string()),
                };
                ExprError { message, position }
            })
    }

    /// Evaluates a condition, which must yield a boolean.
    pub fn condition(&self, expression: &str, variables: &Variables) -> Result<bool, ExprError> {
        let expression = unwrap_braces(expression);
        let value = self.eval(expression, variables)?;
        value.as_bool().map_err(|type_name| ExprError {
            message: format!(
                "a condition must be true or false, but `{}` is {} `{value}`",
                expression.trim(),
                describe_type(type_name)
            ),
            position: None,
        })
    }

    /// Replaces every `${{ expr }}` in `text` by the expression's value.
    pub fn interpolate(&self, text: &str, variables: &Variables) -> Result<String, InterpolationError> {
        if !text.contains("${{") {
            return Ok(text.to_string());
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let mut occurrence = 0;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else {
                return Err(InterpolationError {
                    error: ExprError {
                        message: "unterminated `${{`: expected `}}`".into(),
                        position: None,
                    },
                    occurrence,
                });
            };
            let value = self
                .eval(&after[..end], variables)
                .map_err(|error| InterpolationError { error, occurrence })?;
            out.push_str(&value.to_string());
            rest = &after[end + 2..];
            occurrence += 1;
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Converts JSON-shaped data (environment values) into a rhai value.
    pub fn to_dynamic(value: &serde_json::Value) -> Dynamic {
        rhai::serde::to_dynamic(value).unwrap_or(Dynamic::UNIT)
    }
}

fn describe_type(rhai_type: &str) -> &str {
    match rhai_type {
        "i64" => "an integer",
        "f64" => "a number",
        "string" | "ImmutableString" => "a string",
        "map" => "a map",
        "array" => "a list",
        "()" => "null",
        other => other,
    }
}

/// `condition: ${{ x }}` is accepted as well as `condition: x`.
fn unwrap_braces(expression: &str) -> &str {
    let trimmed = expression.trim();
    trimmed
        .strip_prefix("${{")
        .and_then(|e| e.strip_suffix("}}"))
        .unwrap_or(expression)
}

fn position_of(position: Position) -> Option<(usize, usize)> {
    Some((position.line()?, position.position().unwrap_or(1)))
}

/// rhai appends ` (line 1, position 5)`; the location is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(index) if message.ends_with(')') => message[..index].to_string(),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables() -> Variables {
        let environment = serde_json::json!({"name": "prod", "values": {"replicas": 3, "domain": "example.com"}});
        Variables {
            environment: Expressions::to_dynamic(&environment),
            release: None,
        }
    }

    #[test]
    fn interpolates_environment_values() {
        let expressions = Expressions::new();
        let text = expressions.interpolate(
            "app.${{ environment.values.domain }}:${{ environment.values.replicas + 1 }}",
            &variables(),
        );
        assert_eq!(text.unwrap(), "app.example.com:4");
    }

    #[test]
    fn unset_environment_variable_is_an_error_but_env_or_is_not() {
        let expressions = Expressions::new();
        let error = expressions
            .eval("env.HELMFIRE_SURELY_UNSET_VAR", &variables())
            .unwrap_err();
        assert!(
            error.message.contains("`HELMFIRE_SURELY_UNSET_VAR` is not set"),
            "{}",
            error.message
        );
        let value = expressions
            .eval("env_or(\"HELMFIRE_SURELY_UNSET_VAR\", \"x\")", &variables())
            .unwrap();
        assert_eq!(value.to_string(), "x");
    }

    #[test]
    fn reading_through_a_missing_key_says_so() {
        let error = Expressions::new()
            .eval("environment.values.monitoring.retention", &variables())
            .unwrap_err();
        assert_eq!(
            error.message,
            "cannot read `retention`: the value before it is not set (a missing key?)"
        );
    }

    #[test]
    fn conditions_must_be_boolean() {
        let expressions = Expressions::new();
        assert!(
            expressions
                .condition("environment.name == \"prod\"", &variables())
                .unwrap()
        );
        assert!(
            expressions
                .condition("${{ environment.values.replicas > 5 }}", &variables())
                .is_ok()
        );
        let error = expressions
            .condition("environment.values.replicas", &variables())
            .unwrap_err();
        assert!(error.message.contains("must be true or false"), "{}", error.message);
    }

    #[test]
    fn sandbox_limits_stop_runaway_expressions() {
        let expressions = Expressions::new();
        let error = expressions
            .eval("\"ab\".pad(2000000, \"c\")", &variables())
            .unwrap_err();
        assert!(error.message.to_lowercase().contains("too large"), "{}", error.message);
        // Statements (and so loops) are not expressions: nothing can spin forever.
        assert!(expressions.eval("loop { }", &variables()).is_err());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let expressions = Expressions::new();
        let error = expressions
            .interpolate("a-${{ environment.values. }}", &variables())
            .unwrap_err();
        assert_eq!(error.occurrence, 0);
        assert!(error.error.position.is_some());
    }
}
